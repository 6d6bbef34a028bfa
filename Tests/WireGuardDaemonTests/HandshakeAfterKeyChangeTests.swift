import Keys
import Testing
@testable import WireGuardDaemon

/// When a handshake may start again after it was paced or its keys changed.
@Suite struct HandshakeAfterKeyChangeTests {
    /// A new private key makes the next packet start a handshake at once, not REKEY_TIMEOUT after the last
    /// initiation (made with the old key).
    @Test func handshakeRightAfterAPrivateKeyChange() {
        let t0 = Clock.now()
        let pair = DevicePair(now: t0)
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0)
        pair.settle(now: t0)
        #expect(pair.alice.peers[pair.alicePeer]!.current != nil)
        let later = t0 + Clock.second / 25
        #expect(pair.alice.uapiSet(["private_key=\(Key(bytes: X25519.generatePrivate())!.hex)"], now: later) == 0)
        pair.network.queue.removeAll()
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: later)
        #expect(pair.alice.peers[pair.alicePeer]!.lastInitiationSent == later)
        #expect(pair.network.queue.contains { $0.bytes.first == MessageType.initiation.rawValue })
    }

    /// An attempt refused for coming within REKEY_TIMEOUT of the last initiation is made when that runs out.
    @Test func aRefusedAttemptArmsARetry() {
        let t0 = Clock.now()
        let pair = DevicePair(now: t0)
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0)
        pair.settle(now: t0)
        // The handshake is complete (no retransmission armed) and its session gone a second later.
        let id = pair.alicePeer
        #expect(pair.alice.peers[id]!.timers.retransmitHandshake == 0)
        for index in pair.alice.peers[id]!.indices { pair.alice.indexTable[index] = nil }
        pair.alice.peers[id]!.current = nil
        pair.alice.peers[id]!.previous = nil
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0 + Clock.second)
        #expect(pair.alice.peers[id]!.lastInitiationSent == t0, "paced: no initiation within REKEY_TIMEOUT")
        let retry = t0 + Protocol.rekeyTimeout + Protocol.rekeyJitterMaxMilliseconds * 1_000_000
        _ = pair.alice.runTimers(now: retry)
        #expect(pair.alice.peers[id]!.lastInitiationSent == retry, "no retry once REKEY_TIMEOUT ran out")
    }
}
