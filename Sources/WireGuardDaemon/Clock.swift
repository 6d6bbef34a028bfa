import Glibc

/// Monotonic and wall-clock time in nanoseconds: plain integers keep timer arithmetic cheap and explicit.
enum Clock {
    static let second: UInt64 = 1_000_000_000

    static func now() -> UInt64 { read(CLOCK_MONOTONIC) }
    static func wallNow() -> UInt64 { read(CLOCK_REALTIME) }

    /// `now - then`, 0 if `then` is later: one batch of packets shares a `now` read before some of its events
    /// were stamped, and a trap on unsigned underflow would end the daemon.
    static func elapsed(_ now: UInt64, since then: UInt64) -> UInt64 { now > then ? now - then : 0 }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * second + UInt64(ts.tv_nsec)
    }
}
