import Retry
import Signaling
import Testing

/// The numbers of every backend's reconnects (`SignalingOptions.backoff`).
struct ReconnectBackoffTests {
    @Test func twoHundredMillisecondsDoublingToFifteenSecondsJitteredIntoTheUpperHalf() {
        let backoff = SignalingOptions(environment: [:]).backoff
        #expect(backoff == Backoff(initial: .milliseconds(200), maximum: .seconds(15), jitter: 0.5...1))
        for attempt in 0...8 {
            let full = min(Duration.milliseconds(200 << attempt), .seconds(15))
            let drawn = backoff.delay(forAttempt: attempt)
            #expect(drawn >= full / 2 && drawn <= full, "attempt \(attempt): \(drawn)")
        }
    }
}
