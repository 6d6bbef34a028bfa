import Addresses
import Glibc
import Testing
@testable import WireGuardDaemon

/// The UAPI socket as wireguard-go serves it, and bounded: a socket in a private directory, real clients.
@Suite struct UAPIServerTests {
    @Test func anErrorEndsTheConnection() throws {
        var server = try Self.server()
        defer { server.remove() }
        let client = Self.connect(server)
        defer { close(client) }
        server.accept(now: 0)
        Self.write(client, "set=1\nbogus=1\n\nget=1\n\n")
        let device = DevicePair().alice
        for fd in Array(server.connections.keys) { server.serve(fd, device: device, now: 0) }
        #expect(Self.readAll(client) == "errno=-22\n\n")
        #expect(server.connections.isEmpty)
    }

    @Test func aSetEndedByTheEndOfTheStreamIsApplied() throws {
        var server = try Self.server()
        defer { server.remove() }
        let client = Self.connect(server)
        defer { close(client) }
        server.accept(now: 0)
        Self.write(client, "set=1\nfwmark=7")
        shutdown(client, Int32(SHUT_WR))
        let device = DevicePair().alice
        // As the loop would: the data, then the end of the stream.
        for _ in 0..<3 { for fd in Array(server.connections.keys) { server.serve(fd, device: device, now: 0) } }
        #expect(device.fwmark == 7)
        #expect(Self.readAll(client) == "errno=0\n\n")
    }

    /// A client that sends requests and never reads the replies costs the loop no waiting.
    @Test func aSlowReaderDoesNotBlockTheLoop() throws {
        var server = try Self.server()
        defer { server.remove() }
        let client = Self.connect(server)
        defer { close(client) }
        server.accept(now: 0)
        Self.write(client, String(repeating: "get=1\n\n", count: 4000))
        let device = DevicePair().alice
        let fd = try #require(server.connections.keys.first)
        let start = Clock.now()
        // As the loop would: the socket, then the turns the work takes, until it waits for the reader.
        for _ in 0..<4 {
            server.serve(fd, device: device, now: 0)
            for _ in 0..<10_000 where server.hasYielded { server.resume(device: device, now: 0) }
        }
        #expect(Clock.now() - start < Clock.second / 2)
        #expect(server.connections[fd]?.hasOutput == true, "the connection waits for its reader")
    }

    /// A `get` larger than the replies' high-water mark goes on once the reader has taken what was written, to
    /// its status line (WireGuard's selftest: one peer with 130,560 allowed IPs; it used to stop at the mark).
    @Test func aGetLargerThanTheHighWaterMarkIsWrittenWhole() throws {
        var server = try Self.server()
        defer { server.remove() }
        let client = Self.connect(server)
        defer { close(client) }
        server.accept(now: 0)
        let device = DevicePair().alice
        let peer = device.peers.ids[0]
        for i in 0..<60_000 { device.allowedIPs.insert(IPNetwork(address: IPAddress("10.\(100 + i / 65536).\(i / 256 % 256).\(i % 256)")!, prefixLength: 32), peer: peer) }
        Self.write(client, "get=1\n\n")
        let fd = try #require(server.connections.keys.first)
        var received = [UInt8](), chunk = [UInt8](repeating: 0, count: 1 << 16)
        // As the loop would, with the client reading as it goes.
        for _ in 0..<100_000 {
            if server.connections[fd] == nil { break }
            server.serve(fd, device: device, now: 0)
            if server.hasYielded { server.resume(device: device, now: 0) }
            let n = recv(client, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            if n > 0 { received += chunk[..<n] }
            if received.count > 20, received.suffix(10).elementsEqual("errno=0\n\n".utf8) { break }
        }
        let reply = String(decoding: received, as: UTF8.self)
        #expect(reply.count > 1 << 20, "more than the high-water mark")
        #expect(reply.hasSuffix("\nerrno=0\n\n"))
        #expect(reply.split(separator: "\n").filter { $0.hasPrefix("allowed_ip=") }.count == 60_001)
    }

    /// One request at a time, as wireguard-go's ipcMutex: a `get` waits while another client's `set` is half
    /// received, so it never sees a peer that set removes and adds back (the session's re-creation of a peer).
    @Test func aGetWaitsForASetInProgress() throws {
        var server = try Self.server()
        defer { server.remove() }
        let setter = Self.connect(server), getter = Self.connect(server)
        defer { close(setter); close(getter) }
        server.accept(now: 0)
        let device = DevicePair().alice
        let key = "public_key=\(hex(device.peers[device.peers.ids[0]]!.remote.publicKey))\n"
        let drive = {
            for _ in 0..<20 {
                for fd in Array(server.connections.keys) { server.serve(fd, device: device, now: 0) }
                if server.hasYielded { server.resume(device: device, now: 0) }
            }
        }
        Self.write(setter, "set=1\n" + key + "remove=true\n")
        drive()
        Self.write(getter, "get=1\n\n")
        drive()
        #expect(device.peers.count == 0, "the first half of the set is applied")
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        #expect(recv(getter, &chunk, chunk.count, Int32(MSG_DONTWAIT)) == -1, "no answer while the set is in progress")
        Self.write(setter, key + "allowed_ip=10.99.0.2/32\n\n")
        drive()
        let reply = String(decoding: chunk[..<max(0, recv(getter, &chunk, chunk.count, Int32(MSG_DONTWAIT)))], as: UTF8.self)
        #expect(reply.contains(key) && reply.hasSuffix("errno=0\n\n"), "\(reply)")
    }

    @Test func connectionsAreCappedAndIdleOnesDropped() throws {
        var server = try Self.server()
        defer { server.remove() }
        var clients = (0..<UAPIServer.maxConnections).map { _ in Self.connect(server) }
        defer { clients.forEach { close($0) } }
        server.accept(now: 0)
        #expect(server.connections.count == UAPIServer.maxConnections)
        // Two more wait in the listen backlog.
        clients += (0..<2).map { _ in Self.connect(server) }
        server.accept(now: 0)
        #expect(server.connections.count == UAPIServer.maxConnections)
        #expect(!server.pollList(now: 0).contains { $0.fd == server.listenFD }, "accepting at the cap")
        server.closeIdle(now: UAPIServer.idleTimeout - 1)
        #expect(server.connections.count == UAPIServer.maxConnections)
        server.closeIdle(now: UAPIServer.idleTimeout)
        #expect(server.connections.isEmpty)
        server.accept(now: UAPIServer.idleTimeout)
        #expect(server.connections.count == 2)
    }

    /// Out of descriptors the listening socket stays readable: polling it at once would spin.
    @Test func acceptPausesWhenOutOfDescriptors() throws {
        var server = try Self.server()
        defer { server.remove() }
        server.accept(now: 1000) { _ in
            errno = EMFILE
            return -1
        }
        #expect(!server.pollList(now: 1000).contains { $0.fd == server.listenFD })
        #expect(server.pollList(now: 1000 + UAPIServer.acceptPause).contains { $0.fd == server.listenFD })
    }

    /// wireguard-go's numbers are digits only; Swift's parser also takes a leading `+`.
    @Test func aLeadingPlusIsRejected() {
        let device = DevicePair().alice
        for line in ["listen_port=+1", "fwmark=+1"] { #expect(device.uapiSet([Substring(line)], now: 0) == EINVAL, "\(line)") }
        let peer = "public_key=\(hex(X25519.publicKey(X25519.generatePrivate())))"
        for line in ["persistent_keepalive_interval=+1", "endpoint=192.0.2.9:+5"] {
            #expect(device.uapiSet([Substring(peer), Substring(line)], now: 0) == EINVAL, "\(line)")
        }
    }

    private static func server() throws -> UAPIServer {
        let directory = "/tmp/wgd-uapi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return try UAPIServer(interface: "test", directory: directory)
    }

    private static func connect(_ server: UAPIServer) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in server.path.utf8.enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(r == 0)
        return fd
    }

    private static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        precondition(send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count)
    }

    /// Everything until the server closes, or what came within half a second.
    private static func readAll(_ fd: Int32) -> String {
        var out = [UInt8]()
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 500) == 1 else { return String(decoding: out, as: UTF8.self) + "<open>" }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return String(decoding: out, as: UTF8.self) }
            out += chunk[..<n]
        }
    }
}
