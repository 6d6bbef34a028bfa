import CNetlink
import Glibc
import Synchronization

/// Controls a userspace implementation (wireguard-go, boringtun, ...) through its UAPI socket, speaking the
/// `get=1` / `set=1` text protocol (wireguard-tools' ipc-uapi.h, wireguard-go's device/uapi.go).
///
/// One connection serves any number of operations, strictly one at a time: wireguard-go's `set` parser reads
/// ahead, so a pipelined second request could be swallowed. If the daemon closes the connection (after a
/// refused `set` it may discard the rest of the request and hang up), the next operation reconnects, which
/// needs the same permissions as the first connect.
public final class UAPIClient: WireGuardControl {
    public let interface: String
    public let socketPath: String
    private let fd: Mutex<Int32>
    /// How many times this client connected (1 unless the daemon hung up); lets tests prove a connection survived.
    var connections: Int { connectCount.load(ordering: .relaxed) }
    private let connectCount = Atomic<Int>(1)

    public init(interface: String, socketPath: String? = nil) throws(WireGuardError) {
        self.interface = interface
        self.socketPath = socketPath ?? "\(WireGuard.defaultSocketDirectory)/\(interface).sock"
        fd = Mutex(try UAPIClient.connect(self.socketPath, interface: interface))
    }

    deinit { close() }

    public func close() {
        fd.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }

    public func device() throws(WireGuardError) -> Device {
        let reply = try exchange("get=1\n\n")
        return try UAPICodec.parseGet(reply, interface: interface)
    }

    /// Device-level settings go one per request ahead of the peers, so a refused port or mark is reported by
    /// its exact line and leaves everything else unchanged. A refused peer request is reported by errno only:
    /// wireguard-go does not say which line it stopped at.
    public func apply(_ change: DeviceChange) throws(WireGuardError) {
        let requests = UAPICodec.setRequests(change)
        for request in requests {
            let reply = try exchange(request.text)
            let code = try UAPICodec.parseErrno(reply, interface: interface)
            if code != 0 {
                throw .rejected(interface: interface, errno: code, rejected: request.culprit)
            }
        }
    }

    /// Sends one request and reads the reply up to its terminating blank line.
    private func exchange(_ request: String) throws(WireGuardError) -> [UInt8] {
        try fd.withLock { (fd: inout Int32) throws(WireGuardError) -> [UInt8] in
            if fd < 0 {
                fd = try UAPIClient.connect(socketPath, interface: interface)
                connectCount.add(1, ordering: .relaxed)
            }
            do throws(WireGuardError) {
                try sendAll(fd, Array(request.utf8))
                return try readReply(fd)
            } catch {
                Glibc.close(fd)
                fd = -1
                // A daemon that hung up and took its socket with it means the interface is gone.
                if case .protocolError = error, access(socketPath, F_OK) != 0 { throw .noSuchInterface(interface) }
                throw error
            }
        }
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(WireGuardError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE || errno == ECONNRESET {
                    throw .protocolError(interface: interface, "\(socketPath): connection closed by the daemon")
                }
                throw .system("send to \(socketPath)", errno: errno)
            }
            offset += n
        }
    }

    private func readReply(_ fd: Int32) throws(WireGuardError) -> [UInt8] {
        var reply = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw .protocolError(interface: interface, "\(socketPath): no reply within 30 s") }
                if errno == ECONNRESET {
                    throw .protocolError(interface: interface, "\(socketPath): connection closed by the daemon")
                }
                throw .system("recv from \(socketPath)", errno: errno)
            }
            if n == 0 {
                throw .protocolError(interface: interface, "\(socketPath): connection closed mid-reply")
            }
            let scanFrom = max(reply.count - 1, 0)
            reply.append(contentsOf: chunk[0..<n])
            // Only the terminator has two newlines in a row: every line of a reply is `key=value`.
            var i = scanFrom
            while i + 1 < reply.count {
                if reply[i] == 10 && reply[i + 1] == 10 { return Array(reply[0...i]) }
                i += 1
            }
        }
    }

    private static func connect(_ path: String, interface: String) throws(WireGuardError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket(AF_UNIX)", errno: errno) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            Glibc.close(fd)
            throw .system("UAPI socket path \(path)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: pathBytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let code = errno
            Glibc.close(fd)
            switch code {
            case ENOENT, ECONNREFUSED: throw .noSuchInterface(interface)
            case EACCES, EPERM: throw .permissionDenied(path)
            default: throw .system("connect \(path)", errno: code)
            }
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }
}
