import Addresses
import Glibc
import Testing
@testable import WireGuardDaemon

/// Replies leave from the address the peer sent to (the selftest's reply-to-sender), with the kernel choosing
/// again once that address is gone. Real sockets on loopback, where 127.0.0.2 is ours without root but the
/// kernel's own choice towards 127.0.0.1 is 127.0.0.1.
@Suite struct StickySourceTests {
    @Test func repliesLeaveFromTheAddressThePeerSentToIPv4() throws {
        var sockets = UDPSockets()
        try #require(sockets.bind(port: 0) == 0)
        defer { sockets.closeAll() }
        let client = try Client(family: AF_INET, bindTo: "127.0.0.1:0")
        defer { close(client.fd) }
        client.send(to: "127.0.0.2:\(sockets.port)")
        var endpoint = try #require(Self.receive(sockets.fd4))
        #expect(endpoint.source?.address == IPAddress("127.0.0.2"))
        #expect([1, 2, 3].withUnsafeBytes { sockets.send($0, to: &endpoint) })
        #expect(client.receive()?.description == "127.0.0.2:\(sockets.port)", "the reply came from elsewhere")
    }

    @Test func repliesLeaveFromTheAddressThePeerSentToIPv6() throws {
        var sockets = UDPSockets()
        try #require(sockets.bind(port: 0) == 0)
        defer { sockets.closeAll() }
        guard sockets.fd6 >= 0, let client = try? Client(family: AF_INET6, bindTo: "[::1]:0") else { return }
        defer { close(client.fd) }
        client.send(to: "[::1]:\(sockets.port)")
        var endpoint = try #require(Self.receive(sockets.fd6))
        #expect(endpoint.source?.address == IPAddress("::1"))
        #expect(endpoint.source?.interface == if_nametoindex("lo"))
        #expect([1, 2, 3].withUnsafeBytes { sockets.send($0, to: &endpoint) })
        #expect(client.receive()?.description == "[::1]:\(sockets.port)")
    }

    /// A cached source that is no longer ours (EINVAL from sendmsg) is forgotten and the datagram sent anyway.
    @Test func aVanishedSourceIsForgottenAndTheDatagramResent() throws {
        var sockets = UDPSockets()
        try #require(sockets.bind(port: 0) == 0)
        defer { sockets.closeAll() }
        let client = try Client(family: AF_INET, bindTo: "127.0.0.1:0")
        defer { close(client.fd) }
        var endpoint = Endpoint(client.address, source: StickySource(address: IPAddress("192.0.2.99")!, interface: 0))
        #expect([1, 2, 3].withUnsafeBytes { sockets.send($0, to: &endpoint) })
        #expect(endpoint.source == nil)
        #expect(client.receive()?.description == "127.0.0.1:\(sockets.port)")
    }

    /// Through the device: bob has two addresses and alice knows him by the second; his response and his data
    /// come from that one, so alice keeps her endpoint (a peer replying from its primary address would move it).
    @Test func aMultiHomedResponderAnswersFromTheAddressItWasReachedAt() {
        let pair = DevicePair()
        pair.bob.sockets.addresses.append(IPAddress("198.51.100.2")!)
        #expect(pair.alice.uapiSet(["public_key=\(hexKey(X25519.publicKey(pair.bobKey)))", "endpoint=198.51.100.2:51820"],
                                   now: Clock.now()) == 0)
        var sources = Set<String>()
        let drain = {
            while !pair.network.queue.isEmpty {
                sources.formUnion(pair.network.queue.filter { $0.destination.address == IPAddress("192.0.2.1") }.map { $0.source.description })
                pair.deliver(to: pair.bob)
                pair.deliver(to: pair.alice)
            }
        }
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice)
        drain()
        pair.inject(DevicePair.ipv4(from: 2, to: 1), into: pair.bob)
        drain()
        #expect(pair.alice.tun.written.count == 1 && pair.bob.tun.written.count == 1)
        #expect(sources == ["198.51.100.2:51820"])
        #expect(pair.alice.peers[pair.alicePeer]!.endpoint?.description == "198.51.100.2:51820")
    }

    private static func receive(_ fd: Int32) -> Endpoint? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 2000) == 1 else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        return UDPSockets.receive(fd, into: buffer)?.source
    }
}

private func hexKey(_ bytes: [UInt8]) -> String { hex(bytes) }

/// A plain UDP socket standing for the peer.
private struct Client {
    let fd: Int32
    let address: SocketAddress

    init(family: Int32, bindTo text: String) throws {
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        let requested = SocketAddress(text)!
        guard descriptor >= 0, requested.withSockaddr({ bind(descriptor, $0, $1) }) == 0 else { throw Errno(errno) }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        fd = descriptor
        address = SocketAddress(&storage)!
    }

    func send(to text: String) {
        _ = SocketAddress(text)!.withSockaddr { sendto(fd, [UInt8(7)], 1, 0, $0, $1) }
    }

    /// The source of the next datagram, within two seconds.
    func receive() -> SocketAddress? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 2000) == 1 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var byte = [UInt8](repeating: 0, count: 64)
        let n = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &byte, byte.count, 0, $0, &length) }
        }
        return n >= 0 ? SocketAddress(&storage) : nil
    }
}

private struct Errno: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
