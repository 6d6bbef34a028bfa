import Keys
import Foundation
import Signaling
import Testing
import TestSupport

@Suite struct CryptoTests {
    @Test func wireGuardKeysAreX25519Keys() throws {
        // wg(8) generates and derives the keys; our derivation and crypto_box must agree with it.
        let a = try runChecked(["wg", "genkey"]).stdout
        let aPub = try runChecked(["wg", "pubkey"], input: a).stdout
        let b = try runChecked(["wg", "genkey"]).stdout
        let bPub = try runChecked(["wg", "pubkey"], input: b).stdout
        let alice = try #require(PrivateKey(base64: a.trimmingCharacters(in: .whitespacesAndNewlines)))
        let bob = try #require(PrivateKey(base64: b.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(alice.publicKey == Key(base64: aPub.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(bob.publicKey.base64 == bPub.trimmingCharacters(in: .whitespacesAndNewlines))
        var sealer = Sealer(key: alice)
        var opener = Opener(key: bob)
        let envelope = sealer.seal(.candidate("a=candidate:1 1 UDP 2130706431 192.0.2.1 51820 typ host"), to: try #require(Key(base64: bPub.trimmingCharacters(in: .whitespacesAndNewlines))))
        let opened = try opener.open(envelope).get()
        #expect(opened.from == alice.publicKey)
        #expect(opened.payload.candidate.sdp.hasSuffix("typ host"))
        #expect(!"\(alice)".contains(a.trimmingCharacters(in: .whitespacesAndNewlines)))  // never printed
    }

    @Test func forgeriesAndReplaysAreDropped() throws {
        let alice = PrivateKey.generate(), bob = PrivateKey.generate(), eve = PrivateKey.generate()
        var sealer = Sealer(key: alice)
        var opener = Opener(key: bob)
        let good = sealer.seal(.bye(Bye()), to: bob.publicKey)
        do { let ok = try opener.open(good).get().from == alice.publicKey; #expect(ok) }
        do { let ok = opener.open(good) == .failure(.replayed); #expect(ok) }

        var tampered = sealer.seal(.bye(Bye()), to: bob.publicKey)
        tampered.ciphertext[tampered.ciphertext.startIndex + 20] ^= 1
        do { let ok = opener.open(tampered) == .failure(.authentication); #expect(ok) }

        // Eve seals with her key but claims to be Alice.
        var eveSealer = Sealer(key: eve)
        var forged = eveSealer.seal(.bye(Bye()), to: bob.publicKey)
        forged.sender = Data(alice.publicKey.bytes)
        do { let ok = opener.open(forged) == .failure(.authentication); #expect(ok) }

        // For Carol, not Bob.
        let carol = PrivateKey.generate()
        do { let ok = opener.open(sealer.seal(.bye(Bye()), to: carol.publicKey)) == .failure(.notForMe); #expect(ok) }

        // Reflection: Bob's own message to Alice bounced back to Bob as if Alice sent it. The box key is
        // the same in both directions, so only the inner keys catch this.
        var bobSealer = Sealer(key: bob)
        var reflected = bobSealer.seal(.bye(Bye()), to: alice.publicKey)
        reflected.sender = Data(alice.publicKey.bytes)
        reflected.recipient = Data(bob.publicKey.bytes)
        do { let ok = opener.open(reflected) == .failure(.keyMismatch); #expect(ok) }

        let old = sealer.seal(.bye(Bye()), to: bob.publicKey, now: Date().addingTimeInterval(-61))
        do { let ok = opener.open(old) == .failure(.stale); #expect(ok) }
        let future = sealer.seal(.bye(Bye()), to: bob.publicKey, now: Date().addingTimeInterval(61))
        do { let ok = opener.open(future) == .failure(.stale); #expect(ok) }

        var short = good
        short.nonce = Data(count: 8)
        do { let ok = opener.open(short) == .failure(.malformed); #expect(ok) }
    }

    @Test func replayWindowAcceptsReorderingAndRefusesOldAndRepeated() throws {
        var filter = ReplayFilter(sessionsPerSender: 2, maxSenders: 2)
        let k = PrivateKey.generate().publicKey
        let now = Date()
        do { let ok = filter.accept(sender: k, session: 1, sequence: 5, now: now); #expect(ok) }
        do { let ok = filter.accept(sender: k, session: 1, sequence: 3, now: now); #expect(ok) }   // late but new
        do { let ok = !filter.accept(sender: k, session: 1, sequence: 3, now: now); #expect(ok) }
        do { let ok = filter.accept(sender: k, session: 1, sequence: 200, now: now); #expect(ok) }  // shift across words
        do { let ok = !filter.accept(sender: k, session: 1, sequence: 5, now: now); #expect(ok) }
        do { let ok = filter.accept(sender: k, session: 1, sequence: 4, now: now); #expect(ok) }
        do { let ok = filter.accept(sender: k, session: 1, sequence: 5000, now: now); #expect(ok) }
        do { let ok = !filter.accept(sender: k, session: 1, sequence: 5000 - 1024, now: now); #expect(ok) }  // behind the window
        do { let ok = filter.accept(sender: k, session: 1, sequence: 5000 - 1023, now: now); #expect(ok) }
        do { let ok = filter.accept(sender: k, session: 2, sequence: 5, now: now); #expect(ok) }  // another session of the same sender
        do { let ok = !filter.accept(sender: k, session: 2, sequence: 0, now: now); #expect(ok) }
        // Memory stays bounded: a third sender evicts the least recently heard one.
        let others = (0..<3).map { _ in PrivateKey.generate().publicKey }
        for (i, o) in others.enumerated() { let ok = filter.accept(sender: o, session: 1, sequence: 1, now: now + Double(i + 1)); #expect(ok) }
        do { let ok = !filter.accept(sender: others[2], session: 1, sequence: 1, now: now + 10); #expect(ok) }
    }

    @Test func authProofBindsKeyChallengeTransportAndAuthority() throws {
        let client = PrivateKey.generate(), ephemeral = PrivateKey.generate()
        let challenge = randomBytes(32)
        var hello = Wgice_Signal_V1_Challenge()
        hello.serverEphemeralKey = Data(ephemeral.publicKey.bytes)
        hello.challenge = Data(challenge)
        let auth = try AuthProof.respond(to: hello, key: client, transport: "ws", authority: "signal.example:443").auth
        let any: (String) -> Bool = { _ in true }
        #expect(AuthProof.verify(auth, ephemeral: ephemeral, challenge: challenge, transport: "ws", authorityAllowed: any) == client.publicKey)
        #expect(AuthProof.verify(auth, ephemeral: ephemeral, challenge: challenge, transport: "grpc", authorityAllowed: any) == nil)
        #expect(AuthProof.verify(auth, ephemeral: ephemeral, challenge: randomBytes(32), transport: "ws", authorityAllowed: any) == nil)
        #expect(AuthProof.verify(auth, ephemeral: PrivateKey.generate(), challenge: challenge, transport: "ws", authorityAllowed: any) == nil)
        #expect(AuthProof.verify(auth, ephemeral: ephemeral, challenge: challenge, transport: "ws",
                                 authorityAllowed: { $0 == "other.example:443" }) == nil)
        var claimed = auth
        claimed.publicKey = Data(PrivateKey.generate().publicKey.bytes)  // someone else's key, same proof
        #expect(AuthProof.verify(claimed, ephemeral: ephemeral, challenge: challenge, transport: "ws", authorityAllowed: any) == nil)
        var relabelled = auth
        relabelled.authority = "evil.example:443"
        #expect(AuthProof.verify(relabelled, ephemeral: ephemeral, challenge: challenge, transport: "ws", authorityAllowed: any) == nil)
    }

    @Test func inProcessBackendCarriesSealedMessages() async throws {
        let hub = InProcessHub()
        let a = PrivateKey.generate(), b = PrivateKey.generate()
        let backA = InProcessBackend(hub: hub, key: a), backB = InProcessBackend(hub: hub, key: b)
        let chanA = SignalingChannel(key: a, backend: backA), chanB = SignalingChannel(key: b, backend: backB)
        backA.start()
        backB.start()
        var events = backB.events.makeAsyncIterator()
        guard case .connected? = await events.next() else { Issue.record("no connected event"); return }
        var creds = IceCredentials()
        creds.ufrag = "uf"
        creds.pwd = "pw0123456789012345678901"
        try await chanA.send(.credentials(creds), to: b.publicKey)
        guard case .message(let envelope)? = await events.next() else { Issue.record("no message"); return }
        #expect(try chanB.open(envelope).get().payload.credentials == creds)
        #expect(chanB.open(envelope) == .failure(.replayed))
        await backA.close()
        await backB.close()
    }
}
