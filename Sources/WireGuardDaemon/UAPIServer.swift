import Glibc

/// The UAPI socket, /var/run/wireguard/IFACE.sock, where wg and wg-quick find userspace interfaces.
struct UAPIServer {
    static let directory = "/var/run/wireguard"
    /// A request larger than this is not a configuration (wg sends about 300 bytes per peer; 65,536 peers fit).
    static let maxRequest = 64 << 20
    /// Clients at once: more wait in the listen backlog. wg and wg-quick use one at a time.
    static let maxConnections = 16
    /// A client silent this long (neither sending nor reading its replies) is dropped, freeing its slot.
    static let idleTimeout = 30 * Clock.second
    /// How long accepting pauses when we are out of descriptors: the listening socket stays readable, and
    /// polling it again at once would spin.
    static let acceptPause = Clock.second / 10
    /// Replies queued for one client before its further requests wait for it to read.
    private static let outputHighWater = 1 << 20

    let path: String
    let listenFD: Int32
    /// Device and inode of our socket file: a daemon that exits late must not remove its successor's socket.
    private let identity: (dev_t, ino_t)
    private(set) var connections = [Int32: UAPIConnection]()
    private var acceptPausedUntil: UInt64 = 0

    init(interface: String, directory: String = Self.directory) throws(DaemonError) {
        path = "\(directory)/\(interface).sock"
        mkdir(directory, 0o755)
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

    /// What the event loop polls: the listening socket while a client may be accepted, each client for its
    /// requests or, while it has replies to read, for room to write them.
    func pollList(now: UInt64) -> [(fd: Int32, events: Int16)] {
        var list = [(fd: Int32, events: Int16)]()
        if connections.count < Self.maxConnections, now >= acceptPausedUntil { list.append((listenFD, Int16(POLLIN))) }
        for (fd, connection) in connections { list.append((fd, Int16(connection.hasOutput ? POLLOUT : POLLIN))) }
        return list
    }

    /// Accepts waiting clients up to the cap; `accepting` is accept(2) but in tests.
    mutating func accept(now: UInt64, accepting: (Int32) -> Int32 = { Glibc.accept($0, nil, nil) }) {
        while connections.count < Self.maxConnections {
            let fd = accepting(listenFD)
            guard fd >= 0 else {
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(errno) { acceptPausedUntil = now + Self.acceptPause }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            connections[fd] = UAPIConnection(now: now)
        }
    }

    /// Drops the clients idle for `idleTimeout`.
    mutating func closeIdle(now: UInt64) {
        for (fd, connection) in connections where Clock.elapsed(now, since: connection.lastActive) >= Self.idleTimeout { drop(fd) }
    }

    /// Handles `fd` being readable or writable: reads what it sent, answers the whole requests, writes what it can.
    mutating func serve<T, B>(_ fd: Int32, device: Device<T, B>, now: UInt64) {
        guard var connection = connections[fd] else { return }
        connection.lastActive = now
        if !connection.hasOutput {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            if n < 0, errno == EAGAIN || errno == EINTR { return }
            guard n >= 0, connection.input.count + n <= Self.maxRequest else { return drop(fd) }
            if n == 0 { connection.closing = true } else { connection.input += chunk[..<n] }
            answer(&connection, device: device, now: now, atEOF: n == 0)
        }
        guard flush(fd, &connection) else { return drop(fd) }
        if !connection.hasOutput, !connection.closing, !connection.input.isEmpty {
            // The replies held back by the high-water mark are read: the requests behind them are next.
            answer(&connection, device: device, now: now, atEOF: false)
            guard flush(fd, &connection) else { return drop(fd) }
        }
        if connection.closing, !connection.hasOutput { return drop(fd) }
        connections[fd] = connection
    }

    private func answer<T, B>(_ connection: inout UAPIConnection, device: Device<T, B>, now: UInt64, atEOF: Bool) {
        while !connection.closing || atEOF, connection.output.count - connection.sent < Self.outputHighWater,
              let (reply, used) = UAPIRequest.next(connection.input, device: device, now: now, atEOF: atEOF) {
            connection.input.removeFirst(used)
            guard let reply else {
                connection.closing = true
                return
            }
            connection.output += reply.utf8
            // As wireguard-go: an error ends the connection once its reply is out.
            if !reply.hasPrefix("errno=0\n") && reply.hasPrefix("errno=") { connection.closing = true }
            if connection.closing || connection.input.isEmpty { return }
        }
    }

    /// Writes what the socket takes now; false if the client is gone.
    private func flush(_ fd: Int32, _ connection: inout UAPIConnection) -> Bool {
        while connection.hasOutput {
            let n = connection.output.withUnsafeBytes {
                send(fd, $0.baseAddress! + connection.sent, $0.count - connection.sent, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0, errno == EAGAIN || errno == EINTR { return true }
            guard n > 0 else { return false }
            connection.sent += n
        }
        connection.output.removeAll(keepingCapacity: false)
        connection.sent = 0
        return true
    }

    private mutating func drop(_ fd: Int32) {
        connections[fd] = nil
        close(fd)
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
