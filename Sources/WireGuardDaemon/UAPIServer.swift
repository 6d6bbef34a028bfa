import Glibc

/// The UAPI socket, /var/run/wireguard/IFACE.sock, where wg and wg-quick find userspace interfaces.
struct UAPIServer {
    static let directory = "/var/run/wireguard"
    /// A request larger than this is not a configuration (wg sends about 300 bytes per peer; 65,536 peers fit).
    static let maxRequest = 64 << 20

    let path: String
    let listenFD: Int32
    /// Device and inode of our socket file: a daemon that exits late must not remove its successor's socket.
    private let identity: (dev_t, ino_t)
    private(set) var connections = [Int32: [UInt8]]()

    init(interface: String) throws(DaemonError) {
        path = "\(Self.directory)/\(interface).sock"
        mkdir(Self.directory, 0o755)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("UAPI socket", errno) }
        var address = Self.address(path)
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        if connected == 0 || errno == EAGAIN {
            close(fd)
            throw .system("UAPI socket \(path) is in use", EADDRINUSE)
        }
        unlink(path)
        let old = umask(0o077)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        umask(old)
        guard bound == 0, listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw .system("UAPI socket \(path)", e)
        }
        listenFD = fd
        identity = Self.fileIdentity(path) ?? (0, 0)
    }

    func remove() {
        if let current = Self.fileIdentity(path), current == identity { unlink(path) }
    }

    private static func fileIdentity(_ path: String) -> (dev_t, ino_t)? {
        var st = stat()
        return lstat(path, &st) == 0 ? (st.st_dev, st.st_ino) : nil
    }

    mutating func accept() {
        while true {
            let fd = Glibc.accept(listenFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // Replies are written blocking, bounded by a send timeout: a client that stops reading cannot stall us long.
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            connections[fd] = []
        }
    }

    /// Reads what `fd` sent and answers every complete request in it.
    mutating func serve<T, B>(_ fd: Int32, device: Device<T, B>, now: UInt64) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
        if n < 0, errno == EAGAIN || errno == EINTR { return }
        guard n > 0, var pending = connections[fd], pending.count + n <= Self.maxRequest else { return drop(fd) }
        pending += chunk[..<n]
        while let (reply, used) = UAPIRequest.next(pending, device: device, now: now) {
            pending.removeFirst(used)
            guard let reply, Self.write(fd, reply) else { return drop(fd) }
        }
        connections[fd] = pending
    }

    private mutating func drop(_ fd: Int32) {
        connections[fd] = nil
        close(fd)
    }

    private static func write(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        return address
    }
}
