import DataPath
import Foundation
import ICE
import ICETestSupport
import Testing
import TestSupport

@Suite struct UserspaceProxyTests {
    /// The proxy's socket is bound while it is up and released by close (twice is fine).
    @Test func closeReleasesTheSocket() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlling)
        let proxy = try UserspaceProxy(agent: agent, wireGuardPort: 9)
        let port = proxy.wireGuardEndpoint.port
        #expect(proxy.wireGuardEndpoint.host == "127.0.0.1" && port != 0)
        #expect(!canBind(port))
        await proxy.close()
        await proxy.close()
        #expect(canBind(port))
        await agent.close()
    }

    /// Bursts both ways keep every datagram, its size and its order. WireGuard → peer is `recvmmsg` and one
    /// libnice call per batch; peer → WireGuard is UDP GSO sends, where equal sizes make a batch, a shorter
    /// datagram ends one and a longer one starts the next, and the end of a burst sends what is queued.
    @Test func burstsBothWaysKeepEveryDatagramItsSizeAndOrder() async throws {
        let sizes = [1400, 1400, 1400, 1000, 1400, 1400, 1500, 60, 60, 1452] + Array(repeating: 1400, count: 30) + [200, 1400, 1400, 1400]
        let datagrams = sizes.enumerated().map { i, size in [UInt8(i)] + Array(repeating: UInt8(truncatingIfNeeded: size), count: size - 1) }
        try await withAgentPair(ICEConfiguration(networkTypes: [.udp4], interfaces: ["lo"])) { pair in
            try await pair.waitConnected()
            let wireGuard = try LoopbackSocket()  // stands in for WireGuard's socket
            defer { wireGuard.close() }
            let proxy = try UserspaceProxy(agent: pair.a, wireGuardPort: wireGuard.port)
            wireGuard.connect(to: proxy.wireGuardEndpoint.port)

            // Peer → WireGuard: one burst from B's agent, queued at A's socket while A's loop is kept busy, so
            // that A reads it in one go (one burst ending in full-sized datagrams, which only its end sends).
            let busy = Task { try await pair.a.loop.run { usleep(300_000) } }
            try await Task.sleep(for: .milliseconds(50))
            let sent = datagrams.withUnsafeBufferPointers { pair.b.send($0) }
            #expect(sent == datagrams.count)
            try await busy.value
            var arrived: [[UInt8]] = []
            while arrived.count < datagrams.count, let datagram = wireGuard.receive(timeoutSeconds: 5) { arrived.append(datagram) }
            #expect(arrived.map(\.count) == sizes)
            #expect(arrived == datagrams, "contents differ")

            // WireGuard → peer: as fast as the socket takes them.
            for datagram in datagrams { wireGuard.send(datagram) }
            try await waitUntil("B to receive every datagram") { await pair.logB.received.count >= datagrams.count }
            let atB = await pair.logB.received.map(\.1)
            #expect(atB.map(\.count) == sizes)
            #expect(atB == datagrams, "contents differ")
            await proxy.close()
        }
    }

    func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A UDP socket on 127.0.0.1 with a large receive buffer, for what the proxy sends towards WireGuard.
private struct LoopbackSocket {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = UInt16(bigEndian: address.sin_port)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    func connect(to port: UInt16) {
        var address = Self.loopback(port: port)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    func send(_ datagram: [UInt8]) { _ = datagram.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } }

    func receive(timeoutSeconds: Int) -> [UInt8]? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeoutSeconds * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count >= 0 ? Array(buffer[..<count]) : nil
    }

    func close() { Glibc.close(fd) }
}

private extension Array where Element == [UInt8] {
    /// Runs `body` with a buffer of pointers to each element's bytes (valid during the call).
    func withUnsafeBufferPointers<R>(_ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> R) -> R {
        let copies = map { bytes -> UnsafeMutableRawBufferPointer in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            copy.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
            return copy
        }
        defer { copies.forEach { $0.deallocate() } }
        return copies.map { UnsafeRawBufferPointer($0) }.withUnsafeBufferPointer(body)
    }
}
