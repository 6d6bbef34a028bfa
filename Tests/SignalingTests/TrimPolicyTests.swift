@testable import SignalServer
import Testing

/// Heap trims: one per `threshold` closes under churn, and one after the tail of a burst once closes stop.
@Suite struct TrimPolicyTests {
    @Test func trimsAfterThresholdClosesAndOnceClosesStop() {
        var policy = TrimPolicy(threshold: 1000)
        var checks: [Bool] = []
        checks.append(policy.takeDue())  // nothing closed: no trim
        for _ in 0..<999 { policy.closed() }
        checks.append(policy.takeDue())  // 999 since the check before: still closing
        policy.closed()
        checks.append(policy.takeDue())  // 1000 since the last trim
        for _ in 0..<10 { policy.closed() }
        checks.append(policy.takeDue())  // 10 since the last check: the burst may go on
        checks.append(policy.takeDue())  // none since: the tail is trimmed
        checks.append(policy.takeDue())  // nothing left
        #expect(checks == [false, false, true, false, true, false])
    }
}
