import Foundation
import Keys
import Signaling
import Testing

/// Several servers: what one of them delivers must never stop the receiver from opening what another delivers.
@Suite struct MultiBackendTests {
    /// A hostile server copies the nonce of a message it routes into a tampered envelope and delivers that
    /// first; the honest server's genuine copy must still be opened (PROTOCOL.md §8).
    @Test func aTamperedCopyFromOneServerDoesNotHideTheGenuineOneFromAnother() async throws {
        let alice = PrivateKey.generate(), bob = PrivateKey.generate(), mallory = PrivateKey.generate()
        let hostile = InProcessHub(), honest = InProcessHub()
        let multi = MultiBackend([InProcessBackend(hub: hostile, key: bob), InProcessBackend(hub: honest, key: bob)])
        let channel = SignalingChannel(key: bob, backend: multi)
        let viaHostile = InProcessBackend(hub: hostile, key: mallory), viaHonest = InProcessBackend(hub: honest, key: alice)
        multi.start()
        var events = multi.events.makeAsyncIterator()
        for _ in 0..<2 {
            guard case .connected? = await events.next() else { Issue.record("a backend did not connect"); return }
        }
        var sealer = Sealer(key: alice)
        let genuine = sealer.seal(.bye(Bye()), to: bob.publicKey)
        var tampered = genuine
        tampered.ciphertext[tampered.ciphertext.startIndex + 20] ^= 1
        try await viaHostile.publish(tampered)
        guard case .message(let first)? = await events.next() else { Issue.record("no tampered copy"); return }
        #expect(channel.open(first) == .failure(.authentication))

        // The honest server delivers the genuine copy, twice (a resend), then a later message that ends the wait.
        let last = sealer.seal(.bye(Bye()), to: bob.publicKey)
        for envelope in [genuine, genuine, last] { try await viaHonest.publish(envelope) }
        var outcomes: [Result<UInt64, DropReason>] = []
        while case .message(let envelope)? = await events.next() {
            outcomes.append(channel.open(envelope).map(\.payload.sequence))
            if envelope == last { break }
        }
        #expect(outcomes == [.success(1), .failure(.replayed), .success(2)])
        await multi.close()
    }
}
