@testable import Session
import Testing

/// `DeadPathRule` on readings with made-up times and counters: which traffic makes a path dead, and that a path
/// WireGuard still receives on survives ICE consent loss.
@Suite struct DeadPathRuleTests {
    let t0 = ContinuousClock.now

    /// Readings every 0.5 s (the watchdog's interval): `rx`/`tx` deltas per reading.
    func run(_ rule: inout DeadPathRule, from start: Double = 0, deltas: [(rx: UInt64, tx: UInt64)],
             rx: inout UInt64, tx: inout UInt64, handshakeAge: Duration? = .seconds(10)) -> [DeadPathRule.Verdict] {
        deltas.enumerated().map { i, d in
            rx += d.rx
            tx += d.tx
            return rule.observe(.init(at: t0 + .milliseconds(Int((start + Double(i) * 0.5) * 1000)), rx: rx, tx: tx,
                                      handshakeAge: handshakeAge))
        }
    }

    @Test func bothWaysTrafficIsAlive() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        let verdicts = run(&rule, deltas: Array(repeating: (rx: 500, tx: 500), count: 20), rx: &rx, tx: &tx)
        #expect(verdicts.first == .quiet)
        #expect(verdicts.dropFirst().allSatisfy { $0 == .alive })
    }

    @Test func sendingWithoutReplyIsDeadAfterTheStall() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: Array(repeating: (rx: 500, tx: 500), count: 4), rx: &rx, tx: &tx)
        // From 2.0 s on the replies stop (the NAT's address changed); a 10/s ping goes on.
        let verdicts = run(&rule, from: 2, deltas: Array(repeating: (rx: 0, tx: 500), count: 4), rx: &rx, tx: &tx)
        // Last receive seen at 1.5 s; at 2.5 s: 1 s without a receive, sending in two readings.
        #expect(verdicts[0] == .quiet)
        #expect(verdicts[1] == .dead(.sendingWithoutReply(.seconds(1))), "\(verdicts)")
    }

    /// Traffic after a minute of silence: the first replies take a slow round trip (0.8 s), which is not a stall.
    @Test func firstTrafficAfterIdleGetsItsRoundTrip() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: [(rx: 500, tx: 500)] + Array(repeating: (rx: 0, tx: 0), count: 120), rx: &rx, tx: &tx)
        let verdicts = run(&rule, from: 60.5, deltas: [(rx: 0, tx: 100), (rx: 0, tx: 100), (rx: 100, tx: 100)], rx: &rx, tx: &tx)
        #expect(verdicts == [.quiet, .quiet, .alive])
        // Without any reply the same traffic is dead 1 s after it started.
        var silent = DeadPathRule()
        rx = 0; tx = 0
        _ = run(&silent, deltas: [(rx: 500, tx: 500)] + Array(repeating: (rx: 0, tx: 0), count: 120), rx: &rx, tx: &tx)
        let dead = run(&silent, from: 60.5, deltas: Array(repeating: (rx: 0, tx: 100), count: 3), rx: &rx, tx: &tx)
        #expect(dead == [.quiet, .quiet, .dead(.sendingWithoutReply(.seconds(1)))])
    }

    @Test func aKeepaliveEvery25SecondsIsNotSending() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        // 10 minutes: a 32-byte keepalive every 25 s, a handshake response (rx) every 2 minutes.
        var deltas: [(rx: UInt64, tx: UInt64)] = []
        for i in 0..<1200 { deltas.append((rx: i % 240 == 239 ? 92 : 0, tx: i % 50 == 49 ? 32 : 0)) }
        let verdicts = run(&rule, deltas: deltas, rx: &rx, tx: &tx)
        #expect(!verdicts.contains { if case .dead = $0 { true } else { false } })
    }

    @Test func idleIsNeitherAliveNorDead() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        let verdicts = run(&rule, deltas: Array(repeating: (rx: 0, tx: 0), count: 100), rx: &rx, tx: &tx)
        #expect(verdicts.allSatisfy { $0 == .quiet })
    }

    @Test func aRecreatedPeerStartsANewBaseline() {
        var rule = DeadPathRule()
        #expect(rule.observe(.init(at: t0, rx: 10_000, tx: 10_000)) == .quiet)
        // Counters back at zero (the first handshake re-created the peer): neither a receive nor a stall.
        #expect(rule.observe(.init(at: t0 + .seconds(0.5), rx: 0, tx: 300)) == .quiet)
        #expect(rule.observe(.init(at: t0 + .seconds(1), rx: 0, tx: 600)) == .quiet)
    }

    /// The other end was `wg-ice-resolve --apply` and exited: consent fails ~6 s later, WireGuard goes on.
    @Test func consentLostWhileWireGuardReceivesKeepsThePath() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: Array(repeating: (rx: 500, tx: 500), count: 20), rx: &rx, tx: &tx)
        #expect(rule.consentLost(at: t0 + .seconds(10)) == .alive)
    }

    @Test func consentLostIdleWithARecentHandshakeKeepsThePath() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: [(rx: 500, tx: 500)] + Array(repeating: (rx: 0, tx: 0), count: 60), rx: &rx, tx: &tx,
                handshakeAge: .seconds(40))
        #expect(rule.consentLost(at: t0 + .seconds(30)) == .alive)
    }

    @Test func consentLostIdleWithAnOldHandshakeIsDead() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: [(rx: 500, tx: 500)] + Array(repeating: (rx: 0, tx: 0), count: 60), rx: &rx, tx: &tx,
                handshakeAge: .seconds(200))
        #expect(rule.consentLost(at: t0 + .seconds(30)) == .dead(.consentLost))
    }

    /// A ping once a second over a dead path: too sparse for the stall arm at times, never for consent loss.
    @Test func consentLostWhileSendingWithoutReplyIsDead() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: [(rx: 500, tx: 500)], rx: &rx, tx: &tx)
        var deltas: [(rx: UInt64, tx: UInt64)] = []
        for i in 0..<30 { deltas.append((rx: 0, tx: i % 6 == 0 ? 128 : 0)) }
        _ = run(&rule, from: 0.5, deltas: deltas, rx: &rx, tx: &tx)
        #expect(rule.consentLost(at: t0 + .seconds(15.5)) == .dead(.consentLost))
    }

    /// What keeps an old path when its replacement found nothing: receives, not just readings or a counter reset.
    @Test func receivedRecentlyCountsOnlyReceives() {
        var rule = DeadPathRule(), rx: UInt64 = 0, tx: UInt64 = 0
        _ = run(&rule, deltas: Array(repeating: (rx: 0, tx: 100), count: 4), rx: &rx, tx: &tx)
        #expect(!rule.receivedRecently(at: t0 + .seconds(2)))
        _ = run(&rule, from: 2, deltas: [(rx: 100, tx: 100)], rx: &rx, tx: &tx)
        #expect(rule.receivedRecently(at: t0 + .seconds(12)))
        #expect(!rule.receivedRecently(at: t0 + .seconds(14)))
    }

    @Test func consentLostBeforeAnyReadingIsDead() {
        #expect(DeadPathRule().consentLost(at: t0) == .dead(.consentLost))
    }

    /// STUN passes, WireGuard's packets do not: only `HandshakeTimeout` shows it while sending is sparse.
    @Test func staleHandshakeWhileSendingIsDead() {
        var timing = DeadPathRule.Timing()
        timing.handshakeTimeout = .seconds(3)
        var rule = DeadPathRule(timing: timing), rx: UInt64 = 0, tx: UInt64 = 0
        var deltas: [(rx: UInt64, tx: UInt64)] = []
        for i in 0..<14 { deltas.append((rx: 0, tx: i % 4 == 0 ? 148 : 0)) }
        let verdicts = run(&rule, deltas: deltas, rx: &rx, tx: &tx, handshakeAge: .seconds(4))
        #expect(verdicts.contains(.dead(.staleHandshake(.seconds(3)))), "\(verdicts)")
        var fresh = DeadPathRule(timing: timing)
        rx = 0; tx = 0
        let kept = run(&fresh, deltas: deltas, rx: &rx, tx: &tx, handshakeAge: .seconds(1))
        #expect(!kept.contains { if case .dead = $0 { true } else { false } })
    }

    @Test func pacingActsAtOnceThenBacksOff() {
        var pacing = DeadPathPacing()
        #expect(pacing.delay(at: t0) == .zero)
        #expect(pacing.delay(at: t0 + .seconds(5)) == .seconds(1))
        #expect(pacing.delay(at: t0 + .seconds(10)) == .seconds(2))
        #expect(pacing.delay(at: t0 + .seconds(15)) == .seconds(4))
        for i in 4...10 { _ = pacing.delay(at: t0 + .seconds(15 + 5 * i)) }
        #expect(pacing.delay(at: t0 + .seconds(70)) == .seconds(32))
        // A minute without a verdict: the next one acts at once again.
        #expect(pacing.delay(at: t0 + .seconds(200)) == .zero)
    }
}
