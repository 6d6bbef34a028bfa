import Foundation
import Keys
import Signaling
import Testing

/// Keys cost nothing: an outsider who may publish to a receiver can send from thousands of them. The replay
/// memory holds 4096 senders, so without a peer filter those keys evict a real peer's entry, and a server
/// holding one of that peer's messages (under 60 s old) could deliver it a second time.
@Suite struct OutsiderEvictionTests {
    @Test func throwawayKeysCannotEvictAPeersReplayMemory() {
        let alice = PrivateKey.generate(), bob = PrivateKey.generate()
        var sealer = Sealer(key: alice)
        let message = sealer.seal(.bye(Bye()), to: bob.publicKey)
        let outsiders = (0..<5000).map { _ in
            var outsider = Sealer(key: PrivateKey.generate())
            return outsider.seal(.bye(Bye()), to: bob.publicKey)
        }

        // As the session opens: only its peers reach the replay memory.
        var filtered = Opener(key: bob)
        let isPeer = { (key: Key) in key == alice.publicKey }
        #expect(filtered.open(message, isPeer: isPeer).isSuccess)
        for envelope in outsiders { #expect(filtered.open(envelope, isPeer: isPeer) == .failure(.notAPeer)) }
        #expect(filtered.open(message, isPeer: isPeer) == .failure(.replayed))

        // Without the filter the outsiders push alice out, and the same copy is taken again.
        var unfiltered = Opener(key: bob)
        #expect(unfiltered.open(message).isSuccess)
        for envelope in outsiders { _ = unfiltered.open(envelope) }
        #expect(unfiltered.open(message).isSuccess)
    }
}

private extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
