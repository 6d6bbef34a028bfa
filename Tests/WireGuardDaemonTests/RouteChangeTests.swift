import Addresses
import Glibc
import Testing
@testable import WireGuardDaemon

/// When the routes change, an IPv4 sticky source stays only while the way to the peer still leaves by the
/// interface it was learnt on, as the kernel re-checks it when its cached route goes stale (the netns
/// selftest's "another interface route takes precedence": a better route added through another interface
/// must carry the packets from that interface's address, not from the old one).
@Suite struct RouteChangeTests {
    @Test func aSourceWhoseRouteMovedToAnotherInterfaceIsDropped() {
        let pair = DevicePair()
        let alice = SocketAddress(address: IPAddress("192.0.2.1")!, port: 51820)
        let learnt = StickySource(address: IPAddress("192.0.2.2")!, interface: 3)
        pair.bob.peers[pair.bobPeer]!.endpoint = Endpoint(alice, source: learnt)

        pair.bob.sockets.routeInterfaces[alice.address] = 3
        pair.bob.routesChanged()
        #expect(pair.bob.peers[pair.bobPeer]!.endpoint?.source == learnt, "the route still leaves by interface 3")

        pair.bob.sockets.routeInterfaces[alice.address] = 4
        pair.bob.routesChanged()
        #expect(pair.bob.peers[pair.bobPeer]!.endpoint?.source == nil, "a route through interface 4 won")
        #expect(pair.bob.peers[pair.bobPeer]!.endpoint?.remote == alice)
    }

    @Test func anUnknownRouteOrAnIPv6SourceIsKept() {
        let pair = DevicePair()
        let learnt = StickySource(address: IPAddress("192.0.2.2")!, interface: 3)
        pair.bob.peers[pair.bobPeer]!.endpoint = Endpoint(SocketAddress(address: IPAddress("192.0.2.1")!, port: 51820), source: learnt)
        pair.bob.routesChanged()
        #expect(pair.bob.peers[pair.bobPeer]!.endpoint?.source == learnt, "no answer from the routes is no reason")

        let v6 = SocketAddress(address: IPAddress("2001:db8::1")!, port: 51820)
        let learnt6 = StickySource(address: IPAddress("2001:db8::2")!, interface: 3)
        pair.bob.peers[pair.bobPeer]!.endpoint = Endpoint(v6, source: learnt6)
        pair.bob.sockets.routeInterfaces[v6.address] = 4
        pair.bob.routesChanged()
        #expect(pair.bob.peers[pair.bobPeer]!.endpoint?.source == learnt6, "the kernel's send6 keeps it too")
    }

    /// The kernel's answer through netlink, without root: loopback from loopback leaves by lo; from an address
    /// that is not ours there is no answer.
    @Test func theKernelSaysWhichInterface() throws {
        var sockets = UDPSockets()
        try #require(sockets.bind(port: 0) == 0)
        defer { sockets.closeAll() }
        let loopback = SocketAddress(address: IPAddress("127.0.0.1")!, port: 9)
        #expect(sockets.routeInterface(to: loopback, from: IPAddress("127.0.0.1")!) == if_nametoindex("lo"))
        #expect(sockets.routeInterface(to: loopback, from: IPAddress("192.0.2.99")!) == nil)
    }
}
