/// A flood of refused connections would log one line each: the first refusal of a burst is logged, then at
/// most one line per `interval`, saying how many went unlogged since the previous one.
struct RefusalLog {
    let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var unlogged = 0

    init(interval: Duration = .seconds(10)) { self.interval = interval }

    /// Nil: do not log this refusal. Otherwise log it, with the returned number of refusals not logged before it.
    mutating func admit(at now: ContinuousClock.Instant = .now) -> Int? {
        if let lastLogged, lastLogged.duration(to: now) < interval {
            unlogged += 1
            return nil
        }
        lastLogged = now
        defer { unlogged = 0 }
        return unlogged
    }
}
