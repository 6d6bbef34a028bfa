import Foundation
import Glibc

extension NetNS {
    /// Runs `body` on a new thread that has entered this namespace (setns), and returns its result.
    /// Sockets the body opens stay bound to the namespace after it returns; threads it starts inherit it.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let fd = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetNSError(message: "open /var/run/netns/\(name): errno \(errno)") }
        defer { close(fd) }
        nonisolated(unsafe) var result: Result<T, any Error>?
        let done = DispatchSemaphore(value: 0)
        Thread {
            let CLONE_NEWNET: Int32 = 0x4000_0000
            if setns(fd, CLONE_NEWNET) != 0 {
                result = .failure(NetNSError(message: "setns \(self.name): errno \(errno)"))
            } else {
                result = Result { try body() }
            }
            done.signal()
        }.start()
        done.wait()
        return try result!.get()
    }
}

// glibc declares setns(2) only under _GNU_SOURCE, which Swift's Glibc module does not define.
@_silgen_name("setns") private func setns(_ fd: Int32, _ nstype: Int32) -> Int32

public struct NetNSError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
