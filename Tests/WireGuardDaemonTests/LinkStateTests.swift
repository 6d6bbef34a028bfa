import Testing
@testable import WireGuardDaemon

/// `ip link set down` and `up`, as wireguard-go and the kernel: down closes the sockets and forgets the keys,
/// up opens the sockets on the same port and the peers handshake again.
@Suite struct LinkStateTests {
    @Test func downClosesSocketsAndForgetsKeysUpReopens() {
        let t0 = Clock.now()
        let pair = DevicePair(now: t0)
        pair.inject(DevicePair.ipv4(from: 2, to: 1), into: pair.bob, now: t0)
        pair.settle(now: t0)
        #expect(pair.bob.peers[pair.bobPeer]!.current != nil)
        pair.bob.peers[pair.bobPeer]!.persistentKeepalive = 25

        pair.bob.linkDown()
        #expect(!pair.bob.sockets.isOpen)
        let peer = pair.bob.peers[pair.bobPeer]!
        #expect(peer.current == nil && peer.previous == nil && peer.next == nil && peer.initiation == nil)
        #expect(pair.bob.indexTable.isEmpty)
        #expect(peer.timers.persistentKeepalive == 0 && peer.timers.retransmitHandshake == 0)
        // Nothing answered or sent while down.
        pair.network.queue.removeAll()
        pair.alice.expireSessions(pair.alicePeer)
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0 + 1)
        #expect(pair.deliver(to: pair.bob, now: t0 + 1) == 0)
        _ = pair.bob.runTimers(now: t0 + 100 * Clock.second)
        #expect(pair.network.queue.isEmpty, "bob sent while down")
        #expect(pair.bob.uapiSet(["listen_port=51821"], now: t0 + 2) == 0)
        #expect(!pair.bob.sockets.isOpen, "a new port opens only with the link")

        #expect(pair.bob.linkUp(now: t0 + 3) == 0)
        #expect(pair.bob.sockets.isOpen && pair.bob.sockets.port == 51821)
        // Up sends the persistent keepalive, which needs a handshake first.
        #expect(pair.network.queue.contains { $0.source.remote.port == 51821 && $0.bytes.first == MessageType.initiation.rawValue })
    }
}
