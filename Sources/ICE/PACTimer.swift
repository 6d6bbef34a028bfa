/// RFC 8863 (Patiently Awaiting Connectivity): a checklist must not fail sooner than the PAC time after
/// checks start, because the peer may not have our candidates yet, and its checks, once it has, create
/// working peer-reflexive pairs. RFC 8863 makes no exception for a peer that sent end-of-candidates:
/// that peer may still be the one waiting for ours.
///
/// libnice 0.1.21 fails a checklist once every pair has failed and it has been idle for `idle-timeout`
/// (5 s), whether or not the peer sent end-of-candidates (it stores `peer_gathering_done` and never reads
/// it), and never fails a checklist without a remote candidate. `AgentCore` therefore holds libnice's
/// failure back until the timer expires (libnice takes it back by itself when new candidates or the
/// peer's checks arrive), and fails an empty checklist when it expires.
struct PACTimer {
    /// Counts starts and stops, so that an expiry scheduled for earlier checks is recognised and ignored.
    private(set) var generation = 0
    private var deadline: ContinuousClock.Instant?
    /// libnice failed the checklist before the deadline.
    private(set) var holding = false

    /// The peer's credentials were set: checks start now. Returns the generation its expiry belongs to.
    mutating func start(duration: Duration, now: ContinuousClock.Instant = .now) -> Int {
        generation += 1
        deadline = now + duration
        holding = false
        return generation
    }

    /// Checks stopped (a restart this side initiated; the peer's new credentials start them again).
    mutating func stop() {
        generation += 1
        deadline = nil
        holding = false
    }

    /// libnice failed the checklist (not a consent loss). Returns whether to report the failure now.
    mutating func checksFailed(now: ContinuousClock.Instant = .now) -> Bool {
        guard let deadline, now < deadline else { return true }
        holding = true
        return false
    }

    /// libnice left the failed state (new pairs to check, or one worked).
    mutating func resumed() { holding = false }

    /// The timer of `generation` expired. Returns whether it was current (and is now spent).
    mutating func expire(_ generation: Int) -> Bool {
        guard generation == self.generation, deadline != nil else { return false }
        deadline = nil
        return true
    }
}
