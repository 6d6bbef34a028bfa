import Addresses
import Blocking
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The datagram socket PCP and NAT-PMP requests go out on and answers come back on. A seam: tests put a scripted
/// router behind it.
public protocol PortMapTransport: Sendable {
    func send(_ datagram: [UInt8], to destination: SocketAddress) async
    /// The next datagram that arrives within `timeout`, with its source; nil on silence or cancellation.
    func receive(timeout: Duration) async -> (datagram: [UInt8], source: SocketAddress)?
}

/// One unconnected IPv4 UDP socket for every gateway. Created in the calling thread's network namespace.
public final class UDPPortMapTransport: PortMapTransport, @unchecked Sendable {
    // The descriptor never changes after init; close happens in deinit only, when no call can be running.
    private let fd: Int32

    public init?() {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    deinit { close(fd) }

    public func send(_ datagram: [UInt8], to destination: SocketAddress) async {
        // A UDP send does not block for long (ENOBUFS at worst, then dropped): fine on the calling thread.
        _ = datagram.withUnsafeBytes { bytes in
            destination.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, $1) }
        }
    }

    public func receive(timeout: Duration) async -> (datagram: [UInt8], source: SocketAddress)? {
        let cancelled = CancelFlag()
        let fd = fd
        let total = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return await withTaskCancellationHandler {
            await Blocking.run { () -> (datagram: [UInt8], source: SocketAddress)? in
                // Short polls, so that a cancelled wait (stop) frees its thread within 20 ms.
                var left = max(0, total)
                while !cancelled.isSet {
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let slice = min(left, 20)
                    let n = poll(&pfd, 1, Int32(slice))
                    if n > 0 {
                        var buffer = [UInt8](repeating: 0, count: 1500)
                        var storage = sockaddr_storage()
                        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        let got = withUnsafeMutablePointer(to: &storage) { sp in
                            sp.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                recvfrom(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                            }
                        }
                        if got >= 0, let source = SocketAddress(&storage) { return (Array(buffer[0..<got]), source) }
                        continue
                    }
                    left -= slice
                    if left <= 0 { return nil }
                }
                return nil
            }
        } onCancel: {
            cancelled.set()
        }
    }
}

/// A flag set from a cancellation handler and read by a blocking loop.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
