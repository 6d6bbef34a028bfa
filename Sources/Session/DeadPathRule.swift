import Retry

/// When a peer's path is dead, judged by WireGuard first and by ICE consent second.
///
/// ICE consent says whether the peer's *agent* answers, not whether WireGuard's packets cross: the agent may be
/// gone while the path works (the other end was `wg-ice-resolve --apply`, which exits; or a session that
/// restarted), and a NAT that changed its public address kills the path seconds before consent notices. So:
/// - **alive**: WireGuard's receive counter advances. Then nothing ICE says tears the path down.
/// - **dead, sending without reply**: WireGuard kept sending for `Timing.stall` (at least
///   `Timing.sendingReadings` readings with sending, none further apart than that) and received nothing. A request/response flow
///   (ping, TCP) gets replies within a round trip; a lone keepalive every 25 s does not count as sending.
/// - **dead, consent lost**: ICE consent failed and WireGuard received nothing within `Timing.consentGrace`
///   while it sent. Idle both ways with a handshake within `Timing.recentHandshake`: kept, the next traffic
///   tells (a one-shot peer that exited leaves exactly this).
/// - **dead, stale handshake**: `HandshakeTimeout` passed without a handshake while WireGuard sent and received
///   nothing for `Timing.staleWindow` (a path that carries STUN but not WireGuard, where consent holds).
///
/// Readings come with their time (an injected clock), so the rule is tested without a network or a sleep.
struct DeadPathRule: Sendable {
    struct Timing: Sendable {
        /// How long WireGuard may send without receiving before the path counts as dead. Replies to a ping or a
        /// TCP segment come within a round trip; 1 s keeps the whole gap (detection, a new agent, checks)
        /// within 2 s.
        var stall: Duration = .seconds(1)
        /// Readings with sending in a row that make "sending": one new packet between two readings is not a flow.
        var sendingReadings = 2
        /// After consent loss, a receive this recent keeps the path. WireGuard's passive keepalive answers
        /// one-way traffic within KEEPALIVE_TIMEOUT (10 s).
        var consentGrace: Duration = .seconds(11)
        /// REJECT_AFTER_TIME: WireGuard still has a session with the peer.
        var recentHandshake: Duration = .seconds(180)
        /// The `HandshakeTimeout` arm looks at this much silence (WireGuard retries an initiation every 5 s).
        var staleWindow: Duration = .seconds(5)
        var handshakeTimeout: Duration = .seconds(180)
    }

    /// One read of the peer from WireGuard.
    struct Reading: Sendable {
        var at: ContinuousClock.Instant
        var rx: UInt64
        var tx: UInt64
        /// Time since the latest handshake; nil: none yet.
        var handshakeAge: Duration?
    }

    enum Reason: Sendable, Equatable, CustomStringConvertible {
        case sendingWithoutReply(Duration)
        case consentLost
        case staleHandshake(Duration)

        var description: String {
            switch self {
            case .sendingWithoutReply(let d): "WireGuard sent for \(d) and received nothing"
            case .consentLost: "ICE consent lost and WireGuard received nothing while it sent"
            case .staleHandshake(let d): "no WireGuard handshake for \(d) while sending"
            }
        }
    }

    enum Verdict: Sendable, Equatable {
        /// WireGuard received since the previous reading.
        case alive
        /// Nothing conclusive: idle, or not sending long enough yet.
        case quiet
        case dead(Reason)
    }

    let timing: Timing
    private var last: Reading?
    /// When the receive counter was last seen advancing (or the first reading, or a counter reset).
    private var lastReceive: ContinuousClock.Instant?
    /// When the receive counter was last seen advancing, and only then.
    private var received: ContinuousClock.Instant?
    private var lastSend: ContinuousClock.Instant?
    /// The first reading of the current run of sending. Silence counts from here when it is later than the last
    /// receive, so the first replies to traffic after an idle spell get their round trip (at least `stall`).
    private var runStart: ContinuousClock.Instant?
    /// Readings with sending since the last receive, in a run whose gaps are at most `stall`.
    private var sending = 0
    /// Sent anything since the last receive.
    private var sentSinceReceive = false

    init(timing: Timing = Timing()) { self.timing = timing }

    /// Takes one reading and judges the path by WireGuard alone.
    mutating func observe(_ reading: Reading) -> Verdict {
        defer { last = reading }
        guard let last else {
            lastReceive = reading.at
            return .quiet
        }
        // A peer re-created (first handshake on a new path) starts its counters at zero: a new baseline.
        if reading.rx < last.rx || reading.tx < last.tx {
            restart(at: reading.at)
            return .quiet
        }
        if reading.rx > last.rx {
            restart(at: reading.at)
            received = reading.at
            // Still sending: the run goes on from here, so a flow whose replies stop is judged from its last reply.
            if reading.tx > last.tx {
                sending = 1
                lastSend = reading.at
                runStart = reading.at
            }
            return .alive
        }
        if reading.tx > last.tx {
            if let lastSend, reading.at - lastSend > timing.stall { sending = 0 }
            if sending == 0 { runStart = reading.at }
            sending += 1
            lastSend = reading.at
            sentSinceReceive = true
        }
        let silent = reading.at - (lastReceive ?? reading.at)
        if sending >= timing.sendingReadings, let lastSend, reading.at - lastSend <= timing.stall {
            let unanswered = reading.at - max(lastReceive ?? reading.at, runStart ?? reading.at)
            if unanswered >= timing.stall { return .dead(.sendingWithoutReply(unanswered)) }
        }
        if sentSinceReceive, silent >= timing.staleWindow,
           (reading.handshakeAge ?? .seconds(Int64.max / 2)) > timing.handshakeTimeout {
            return .dead(.staleHandshake(timing.handshakeTimeout))
        }
        return .quiet
    }

    /// ICE consent failed (or the checks did) at `now`: whether WireGuard still vouches for the path.
    func consentLost(at now: ContinuousClock.Instant) -> Verdict {
        guard let lastReceive, let last else { return .dead(.consentLost) }
        if now - lastReceive <= timing.consentGrace { return .alive }
        if sentSinceReceive { return .dead(.consentLost) }
        if let age = last.handshakeAge, age <= timing.recentHandshake { return .alive }
        return .dead(.consentLost)
    }

    /// WireGuard received within `Timing.consentGrace` of `now`: what keeps a path whose replacement found nothing.
    func receivedRecently(at now: ContinuousClock.Instant) -> Bool {
        received.map { now - $0 <= timing.consentGrace } ?? false
    }

    private mutating func restart(at instant: ContinuousClock.Instant) {
        lastReceive = instant
        sending = 0
        lastSend = nil
        runStart = nil
        sentSinceReceive = false
    }
}

/// How soon after a dead verdict a peer gathers again: at once the first time, then backing off (1 s doubling
/// to 32 s) while verdicts keep coming within `quietPeriod` of each other, so that traffic the rule misjudges
/// (a one-way flow the peer answers only every 10 s) costs an occasional make-before-break restart, not a storm.
struct DeadPathPacing: Sendable {
    static let quietPeriod: Duration = .seconds(60)
    static let backoff = Backoff(initial: .seconds(1), maximum: .seconds(32))
    private var lastVerdict: ContinuousClock.Instant?
    private var streak = 0

    /// The delay before acting on a verdict reached at `now`.
    mutating func delay(at now: ContinuousClock.Instant) -> Duration {
        if let lastVerdict, now - lastVerdict < Self.quietPeriod { streak += 1 } else { streak = 0 }
        lastVerdict = now
        return streak == 0 ? .zero : Self.backoff.delay(forAttempt: streak - 1)
    }
}
