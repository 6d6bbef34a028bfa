import Retry

extension Backoff {
    /// A peer's ICE restart after consent loss or failure, and a peer session that could not be created: 1 s doubling
    /// to 32 s, each delay a random time in its upper half, so that the peers of one interface, which failed together
    /// when the network changed, do not all retry in the same second.
    static let peerRetry = Backoff(initial: .seconds(1), maximum: .seconds(32), jitter: 0.5...1)
}
