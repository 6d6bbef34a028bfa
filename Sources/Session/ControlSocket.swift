import Foundation
import Glibc
import Synchronization

/// Where a session keeps its pidfile and control socket, one of each per interface. Interface names are
/// unique per host for wireguard-go (its UAPI sockets share /var/run/wireguard), so one flat directory serves
/// every network namespace.
public enum RuntimeFiles {
    public static let directory = "/run/wg-ice"
    public static func pidfile(_ interface: String) -> String { "\(directory)/\(interface).pid" }
    public static func socket(_ interface: String) -> String { "\(directory)/\(interface).sock" }

    /// Creates the directory owner-only, so the sockets in it are too.
    public static func prepare() throws {
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw SessionError.interface("mkdir \(directory): \(String(cString: strerror(errno)))")
        }
        chmod(directory, 0o700)
    }

    /// Interfaces with a control socket.
    public static func interfaces() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".sock") }.map { String($0.dropLast(5)) }.sorted()
    }
}

/// Linux interface names: 1–15 bytes, no `/`, whitespace or `:`; also what keeps runtime paths safe.
public func isValidInterfaceName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    return (1...15).contains(bytes.count) && name != "." && name != ".."
        && !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 >= 0x7f }
}

/// The session's local control socket: a unix stream socket, one request line per connection
/// (`status` or `stop`), one response, then close. Bound by `init` (while the session is still root: the
/// directory is root's), served by `serve` from a dedicated thread because accept blocks. Each connection gets
/// a thread of its own, so a client that says nothing (or reads nothing) holds up only itself, for at most
/// `clientPatience`; past `maxClients` at once, a new connection is closed at once.
public final class ControlServer: Sendable {
    public typealias Handler = @Sendable (String) async -> String
    private let fd: Int32
    private let path: String
    private let active = Atomic<Int>(0)

    static let maxClients = 16
    static let clientPatience = timeval(tv_sec: 2, tv_usec: 0)

    public init(path: String) throws {
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SessionError.interface("socket: \(String(cString: strerror(errno)))") }
        self.path = path
        var address = try unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, listen(fd, 8) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw SessionError.interface("control socket \(path): \(message)")
        }
    }

    public func serve(_ handler: @escaping Handler) {
        let listener = fd
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    // Out of descriptors: wait for clients to finish rather than spin on accept.
                    if errno == EMFILE || errno == ENFILE { usleep(100_000); continue }
                    return
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                guard active.add(1, ordering: .relaxed).newValue <= Self.maxClients else {
                    active.subtract(1, ordering: .relaxed)
                    Glibc.close(client)
                    continue
                }
                Thread { [self] in
                    Self.serve(client, handler: handler)
                    active.subtract(1, ordering: .relaxed)
                }.start()
            }
        }.start()
    }

    /// Stops accepting and removes the socket file (after a privilege drop the session may not be allowed to:
    /// readers then treat the refused socket as stale).
    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }

    private static func serve(_ client: Int32, handler: @escaping Handler) {
        defer { Glibc.close(client) }
        var timeout = clientPatience
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // A request is one short word; anything longer is not a client of ours.
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(client, &buffer, buffer.count)
        guard count > 0 else { return }
        let request = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let response = Box<String>()
        let done = DispatchSemaphore(value: 0)
        Task {
            response.value = await handler(request)
            done.signal()
        }
        done.wait()
        writeAll(client, Array((response.value ?? "").utf8))
    }
}

/// Sends one request to a session's control socket and returns its response.
public func controlRequest(_ request: String, path: String) throws -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SessionError.interface("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = try unixAddress(path)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw SessionError.interface("\(path): \(String(cString: strerror(errno)))") }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    writeAll(fd, Array((request + "\n").utf8))
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while response.count < 1 << 24 {
        let n = read(fd, &buffer, buffer.count)
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { break }
        response += buffer[..<n]
    }
    return String(decoding: response, as: UTF8.self)
}

private func unixAddress(_ path: String) throws -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        throw SessionError.interface("\(path): path too long for a unix socket")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    return address
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
    }
}

/// Carries the handler's answer from its task to the waiting thread; the semaphore orders the accesses.
private final class Box<T>: @unchecked Sendable {
    var value: T?
}
