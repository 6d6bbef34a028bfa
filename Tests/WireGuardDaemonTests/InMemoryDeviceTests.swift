import Testing
@testable import WireGuardDaemon

/// The in-memory seams themselves: two devices handshake and carry packets both ways without root.
@Suite struct InMemoryDeviceTests {
    @Test func twoDevicesTalkInMemory() {
        let pair = DevicePair()
        let toBob = DevicePair.ipv4(from: 1, to: 2), toAlice = DevicePair.ipv4(from: 2, to: 1, payload: [1, 2, 3])
        pair.inject(toBob, into: pair.alice)
        pair.settle()
        pair.inject(toAlice, into: pair.bob)
        pair.settle()
        #expect(pair.bob.tun.written.contains(toBob))
        #expect(pair.alice.tun.written == [toAlice])
        #expect(pair.alice.peers[pair.alicePeer]!.current != nil && pair.bob.peers[pair.bobPeer]!.current != nil)
    }
}
