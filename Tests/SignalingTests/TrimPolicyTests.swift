@testable import SignalServer
import Testing

/// Heap trims: one per `threshold` closes under churn, and one after the tail of a burst once closes stop.
@Suite struct TrimPolicyTests {
    @Test func trimsAfterThresholdClosesAndOnceClosesStop() {
        var policy = TrimPolicy(threshold: 1000)
        #expect(!policy.takeDue())  // nothing closed: no trim, ever
        for _ in 0..<999 { policy.closed() }
        #expect(!policy.takeDue())  // still closing (999 since the check before)
        policy.closed()
        #expect(policy.takeDue())   // 1000 since the last trim
        for _ in 0..<10 { policy.closed() }
        #expect(!policy.takeDue())  // 10 more since the last check: the burst may go on
        #expect(policy.takeDue())   // none since: the tail is trimmed
        #expect(!policy.takeDue())
        #expect(!policy.takeDue())
    }
}
