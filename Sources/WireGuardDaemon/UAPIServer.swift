import Glibc

/// The UAPI socket, /var/run/wireguard/IFACE.sock, where wg and wg-quick find userspace interfaces.
struct UAPIServer {
    static let directory = "/var/run/wireguard"
    /// Input read ahead of what is handled: a request of any size waits in the client's socket, not here.
    static let readAhead = 65_536
    /// How long a client's requests may hold the loop before the TUN and sockets get their turn: the data path's
    /// stall while a large configuration is applied or listed.
    static let slice = Clock.second / 500
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
    /// The client in the middle of a request. One request at a time, as wireguard-go's ipcMutex: a `get` never
    /// sees half of a `set` (the session re-creates a peer in one set, and a reader must find it there), and a
    /// `set` never changes what a `get` is listing. The others wait (`deferred`) until it is done or gone.
    private var holder: Int32?
    /// The time slices' clock (a test's can run out at once).
    var clock: () -> UInt64 = Clock.now

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
    /// requests or, while it has replies to read, for room to write them. A client whose work yielded is not
    /// polled: `resume` takes it up again, and the loop does not sleep meanwhile (`hasYielded`).
    func pollList(now: UInt64) -> [(fd: Int32, events: Int16)] {
        var list = [(fd: Int32, events: Int16)]()
        if connections.count < Self.maxConnections, now >= acceptPausedUntil { list.append((listenFD, Int16(POLLIN))) }
        for (fd, connection) in connections where connection.hasOutput || !(connection.yielded || connection.deferred) {
            list.append((fd, Int16(connection.hasOutput ? POLLOUT : POLLIN)))
        }
        return list
    }

    var hasYielded: Bool { connections.values.contains { $0.yielded && !$0.hasOutput } }

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

    /// Handles `fd` being readable or writable: reads what it sent, answers it for a time slice, writes what it can.
    mutating func serve<T, B>(_ fd: Int32, device: Device<T, B>, now: UInt64) {
        guard var connection = connections[fd] else { return }
        connection.lastActive = now
        if !connection.hasOutput, !connection.atEOF, connection.stream.unhandled < Self.readAhead {
            var chunk = [UInt8](repeating: 0, count: Self.readAhead)
            let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            if n < 0, errno == EAGAIN || errno == EINTR { return }
            guard n >= 0 else { return drop(fd) }
            if n == 0 { connection.atEOF = true } else { connection.stream.append(chunk[..<n]) }
        }
        work(fd, &connection, device: device, now: now)
    }

    /// Gives each client whose work yielded its next time slice.
    mutating func resume<T, B>(device: Device<T, B>, now: UInt64) {
        // By key, each read afresh: a turn can release the clients that waited for its request.
        for fd in Array(connections.keys) {
            guard var connection = connections[fd], connection.yielded, !connection.hasOutput else { continue }
            work(fd, &connection, device: device, now: now)
        }
    }

    private mutating func work<T, B>(_ fd: Int32, _ connection: inout UAPIConnection, device: Device<T, B>, now: UInt64) {
        if !connection.hasOutput, !connection.closing { answer(fd, &connection, device: device, now: now) }
        guard flush(fd, &connection) else { return drop(fd) }
        if connection.closing, !connection.hasOutput { return drop(fd) }
        connections[fd] = connection
    }

    private mutating func answer<T, B>(_ fd: Int32, _ connection: inout UAPIConnection, device: Device<T, B>, now: UInt64) {
        guard holder == nil || holder == fd else {
            connection.deferred = true
            return
        }
        defer {
            if connection.stream.isMidRequest, !connection.closing {
                holder = fd
            } else if holder == fd {
                release()
            }
        }
        let progress = connection.stream.advance(device: device, now: now, atEOF: connection.atEOF,
                                                 output: &connection.output, outputLimit: connection.sent + Self.outputHighWater,
                                                 clock: clock, deadline: clock() + Self.slice)
        // Work is left either way: after its time slice, or once the reader has taken what was written (the
        // socket is polled for room first, then `resume` goes on).
        connection.yielded = progress == .yielded || progress == .waitingForReader
        if progress == .finished { connection.closing = true }
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
        if holder == fd { release() }
    }

    /// The request in progress is done: the clients that waited for it take their turn.
    private mutating func release() {
        holder = nil
        for fd in Array(connections.keys) where connections[fd]!.deferred {
            connections[fd]!.deferred = false
            connections[fd]!.yielded = true
        }
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
