import Keys
import Testing
@testable import WireGuardDaemon

/// Key material is zeroed once it is done with, as the kernel's memzero_explicit and wireguard-go's setZero do:
/// each test records where a secret lives, lets the device drop it, and reads that memory again.
@Suite struct KeyWipeTests {
    /// Where a secret lived and what it held. `Secret.keepsWipedMemory` keeps the memory from being freed, so
    /// reading it after the secret is gone reads what the wipe left, not someone else's allocation.
    struct Recorded {
        let address: UnsafeMutablePointer<UInt8>
        let count: Int
        let held: [UInt8]

        init(_ secret: Secret) {
            Secret.keepsWipedMemory.store(true, ordering: .relaxed)
            address = secret.bytes
            count = secret.count
            held = secret.array
        }

        var now: [UInt8] { Array(UnsafeBufferPointer(start: address, count: count)) }
        /// False for a secret that was zero to begin with: such a test could not fail.
        var heldSomething: Bool { held.contains { $0 != 0 } }
        var isWiped: Bool { now.allSatisfy { $0 == 0 } }
    }

    /// Called in a function of its own so that no copy of the state outlives the recording.
    private func recordInitiation(_ device: MemoryDevice, _ id: UInt32) -> [Recorded] {
        let state = device.peers[id]!.initiation!
        return [Recorded(state.ephemeralPrivate), Recorded(state.chainKey), Recorded(state.hash)]
    }

    private func recordSessions(_ device: MemoryDevice, _ id: UInt32) -> [Recorded] {
        let peer = device.peers[id]!
        return [peer.previous, peer.current, peer.next].compactMap { $0 }.flatMap { [Recorded($0.keys.send), Recorded($0.keys.receive)] }
    }

    private func recordPresharedKey(_ device: MemoryDevice, _ id: UInt32) -> Recorded { Recorded(device.peers[id]!.presharedKey) }

    private func recordStatic(_ device: MemoryDevice, _ id: UInt32) -> [Recorded] {
        [Recorded(device.identity!.privateKey), Recorded(device.peers[id]!.remote.staticShared!)]
    }

    /// Two devices with a session, alice having initiated it at `t0`.
    private func pairWithSession(now t0: UInt64) -> DevicePair {
        let pair = DevicePair(now: t0)
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0)
        pair.settle(now: t0)
        return pair
    }

    /// The initiator's ephemeral key, chaining key and hash, once the response turned them into a session.
    @Test func handshakeStateIsWipedOnceTheHandshakeCompletes() {
        let t0 = Clock.now()
        let pair = DevicePair(now: t0)
        pair.inject(DevicePair.ipv4(from: 1, to: 2), into: pair.alice, now: t0)
        let recorded = recordInitiation(pair.alice, pair.alicePeer)
        #expect(recorded.allSatisfy { $0.heldSomething })
        pair.settle(now: t0)
        #expect(pair.alice.peers[pair.alicePeer]!.current != nil && pair.alice.peers[pair.alicePeer]!.initiation == nil)
        #expect(recorded.allSatisfy { $0.isWiped })
    }

    /// Both sides' transport keys when the zero-key timer (3 × REJECT_AFTER_TIME) fires.
    @Test func sessionKeysAreWipedWhenTheZeroKeyTimerFires() {
        let t0 = Clock.now()
        let pair = pairWithSession(now: t0)
        for (device, id) in [(pair.alice, pair.alicePeer), (pair.bob, pair.bobPeer)] {
            let recorded = recordSessions(device, id)
            #expect(recorded.count == 2 && recorded.allSatisfy { $0.heldSomething })
            let deadline = device.peers[id]!.timers.zeroKeyMaterial
            #expect(deadline == t0 + 3 * Protocol.rejectAfterTime)
            _ = device.runTimers(now: deadline)
            #expect(device.peers[id]!.current == nil && device.peers[id]!.next == nil)
            #expect(recorded.allSatisfy { $0.isWiped })
        }
    }

    /// `ip link set down` forgets the sessions: their keys are wiped, not just let go.
    @Test func sessionKeysAreWipedOnLinkDown() {
        let pair = pairWithSession(now: Clock.now())
        let recorded = recordSessions(pair.alice, pair.alicePeer)
        #expect(recorded.count == 2 && recorded.allSatisfy { $0.heldSomething })
        pair.alice.linkDown()
        #expect(recorded.allSatisfy { $0.isWiped })
    }

    /// A preshared key replaced by `set` is wiped.
    @Test func presharedKeyIsWipedWhenReplaced() {
        let pair = DevicePair()
        let peer = "public_key=\(Key(bytes: X25519.publicKey(pair.bobKey))!.hex)"
        #expect(pair.alice.uapiSet([Substring(peer), "preshared_key=\(Key(bytes: X25519.random(32))!.hex)"], now: 0) == 0)
        let old = recordPresharedKey(pair.alice, pair.alicePeer)
        #expect(old.heldSomething)
        #expect(pair.alice.uapiSet([Substring(peer), "preshared_key=\(Key(bytes: X25519.random(32))!.hex)"], now: 0) == 0)
        #expect(old.isWiped)
    }

    /// A private key replaced by `set` is wiped, with the static-static DH computed from it.
    @Test func privateKeyIsWipedWhenReplaced() {
        let pair = DevicePair()
        let old = recordStatic(pair.alice, pair.alicePeer)
        #expect(old.allSatisfy { $0.heldSomething })
        #expect(pair.alice.uapiSet(["private_key=\(Key(bytes: X25519.generatePrivate())!.hex)"], now: 0) == 0)
        #expect(old.allSatisfy { $0.isWiped })
    }

    /// At exit the daemon drops every key it holds: the private key, the preshared keys and the sessions.
    @Test func everyKeyIsWipedAtExit() {
        let t0 = Clock.now()
        let pair = pairWithSession(now: t0)
        let peer = "public_key=\(Key(bytes: X25519.publicKey(pair.bobKey))!.hex)"
        #expect(pair.alice.uapiSet([Substring(peer), "preshared_key=\(Key(bytes: X25519.random(32))!.hex)"], now: t0) == 0)
        let recorded = recordStatic(pair.alice, pair.alicePeer) + recordSessions(pair.alice, pair.alicePeer)
            + [recordPresharedKey(pair.alice, pair.alicePeer)]
        #expect(recorded.count == 5 && recorded.allSatisfy { $0.heldSomething })
        pair.alice.forgetKeys()
        #expect(recorded.allSatisfy { $0.isWiped })
    }
}
