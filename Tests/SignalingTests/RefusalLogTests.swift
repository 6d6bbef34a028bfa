@testable import SignalServer
import Testing

/// A flood of refusals is one log line per interval, each saying how many it stands for.
@Suite struct RefusalLogTests {
    @Test func logsTheFirstRefusalThenOneLinePerIntervalWithTheUnloggedCount() {
        var log = RefusalLog(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(log.admit(at: start) == 0)
        for i in 1...1000 { #expect(log.admit(at: start + .milliseconds(i)) == nil) }
        #expect(log.admit(at: start + .seconds(10)) == 1000)
        #expect(log.admit(at: start + .seconds(11)) == nil)
        #expect(log.admit(at: start + .seconds(30)) == 1)
    }
}
