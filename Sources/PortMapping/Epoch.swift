/// The server epoch check of RFC 6887 §8.5 (NAT-PMP's §3.6 is the same idea): a router that lost its mappings
/// (restart, reset) restarts its epoch, which then runs behind the time the client saw pass.
struct EpochTracker: Sendable {
    private var last: (epoch: UInt32, at: ContinuousClock.Instant)?

    /// Records an answer's epoch; true when it shows that the server lost its state since the previous answer.
    mutating func observe(_ epoch: UInt32, at now: ContinuousClock.Instant) -> Bool {
        defer { last = (epoch, now) }
        guard let last else { return false }
        if epoch &+ 1 < last.epoch { return true }
        let clientDelta = max(0, Double((now - last.at).components.seconds))
        let serverDelta = epoch >= last.epoch ? Double(epoch - last.epoch) : 0
        // Both clocks may drift by 1/16 and the seconds are truncated on both sides: a 2 s slack.
        return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16
    }

    mutating func reset() { last = nil }
}
