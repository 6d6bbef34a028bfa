/// The one exponential backoff of every retry loop: attempt n (counted from 0) waits `initial` doubled n times, at
/// most `maximum`, times a factor drawn uniformly from `jitter`. Jitter keeps peers or clients that failed together
/// (a server restart, a network change) from retrying in step; `1...1` draws nothing and gives exact delays.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var jitter: ClosedRange<Double>

    public init(initial: Duration, maximum: Duration, jitter: ClosedRange<Double> = 1...1) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    public func delay(forAttempt attempt: Int) -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(forAttempt: attempt, using: &random)
    }

    /// `random` draws the jitter factor, so tests can pin it.
    public func delay(forAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        // Doubled step by step rather than shifted: no exponent can overflow Duration, and the cap is exact. A zero
        // initial (a test's tuning) stays zero; a maximum below the initial wins.
        var full = initial, doublings = 0
        while doublings < attempt, full < maximum, .zero < full {
            full *= 2
            doublings += 1
        }
        full = min(full, maximum)
        guard jitter != 1...1 else { return full }
        return full * Double.random(in: jitter, using: &random)
    }
}
