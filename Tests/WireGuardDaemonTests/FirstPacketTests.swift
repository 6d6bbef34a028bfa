import Testing
@testable import WireGuardDaemon

/// The initiator's first data packet confirms the responder's new session, and the responder then sends what
/// waited for that session. Both share the device's one buffer: the received packet must reach the TUN before
/// the waiting ones are sealed over it.
@Suite struct FirstPacketTests {
    @Test func firstPacketOnANewSessionReachesTheTUNIntact() {
        let pair = DevicePair()
        let first = DevicePair.ipv4(from: 1, to: 2, payload: Array("the first packet".utf8))
        let waiting = DevicePair.ipv4(from: 2, to: 1, payload: Array("waited at bob".utf8))
        pair.inject(first, into: pair.alice)
        pair.deliver(to: pair.bob)
        pair.deliver(to: pair.alice)
        // Bob's session is still waiting for confirmation: his packet for alice waits too.
        pair.inject(waiting, into: pair.bob)
        #expect(pair.bob.peers[pair.bobPeer]!.staged.count == 1)
        pair.deliver(to: pair.bob)
        #expect(pair.bob.tun.written == [first])
        pair.settle()
        #expect(pair.alice.tun.written.contains(waiting))
    }
}
