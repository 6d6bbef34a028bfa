import Retry
import Testing

/// SplitMix64: the same seed, the same draws (a constant generator would make `Double.random(in:using:)` spin).
struct SeededDraws: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct BackoffTests {
    @Test func doublesFromInitialUpToMaximum() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(32))
        let delays = (0...8).map { backoff.delay(forAttempt: $0) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 32, 32, 32].map { Duration.seconds($0) })
    }

    @Test func aMaximumBetweenDoublingsIsHeldExactly() {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(15))
        let delays = (5...8).map { backoff.delay(forAttempt: $0) }
        #expect(delays == [.milliseconds(6400), .milliseconds(12800), .seconds(15), .seconds(15)])
    }

    @Test func hugeAttemptCountsNeitherOverflowNorPassTheMaximum() {
        let backoff = Backoff(initial: .seconds(5), maximum: .seconds(300))
        #expect(backoff.delay(forAttempt: 1_000_000) == .seconds(300))
        #expect(backoff.delay(forAttempt: .max) == .seconds(300))
        #expect(backoff.delay(forAttempt: -1) == .seconds(5))
    }

    @Test func jitterScalesEachDelayWithinItsRange() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(32), jitter: 0.5...1)
        var a = SeededDraws(state: 7), b = SeededDraws(state: 7)
        #expect((0...6).map { backoff.delay(forAttempt: $0, using: &a) } == (0...6).map { backoff.delay(forAttempt: $0, using: &b) })
        for attempt in 0...6 {
            let full = Duration.seconds(1 << min(attempt, 5))
            let drawn = (0..<200).map { _ in backoff.delay(forAttempt: attempt, using: &a) }
            #expect(drawn.allSatisfy { $0 >= full / 2 && $0 <= full }, "attempt \(attempt)")
            #expect(drawn.min()! < full * 0.55 && drawn.max()! > full * 0.95, "attempt \(attempt): not spread over the range")
        }
    }

    @Test func noJitterDrawsNothing() {
        struct Refusing: RandomNumberGenerator {
            mutating func next() -> UInt64 { Issue.record("a backoff without jitter drew a random number"); return 0 }
        }
        var refusing = Refusing()
        #expect(Backoff(initial: .seconds(1), maximum: .seconds(64)).delay(forAttempt: 3, using: &refusing) == .seconds(8))
    }
}
