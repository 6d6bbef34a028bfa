import Retry
@testable import Session
import Testing

/// The numbers of a peer's ICE restarts and of its retries after a failed start.
struct PeerRetryTests {
    @Test func oneSecondDoublingToThirtyTwoJitteredIntoTheUpperHalf() {
        let backoff = Backoff.peerRetry
        #expect(backoff == Backoff(initial: .seconds(1), maximum: .seconds(32), jitter: 0.5...1))
        for attempt in 0...7 {
            let full = Duration.seconds(1 << min(attempt, 5))
            let drawn = backoff.delay(forAttempt: attempt)
            #expect(drawn >= full / 2 && drawn <= full, "attempt \(attempt): \(drawn)")
        }
    }
}
