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

    /// Refusals at accept: per address, the first at once, then one line per interval with the count; an address
    /// with none in its interval is forgotten; beyond the tracked addresses, one line sums the others.
    @Test func addressRefusalsAreLoggedOncePerAddressPerInterval() {
        var log = AddressRefusalLog(capacity: 2)
        let start = ContinuousClock.now
        var logged: [Bool] = []
        logged.append(log.refused("a", at: start))
        logged.append(log.refused("b", at: start))
        for i in 1...100 {
            logged.append(log.refused("a", at: start + .milliseconds(i)))
            logged.append(log.refused("c\(i)", at: start + .milliseconds(i)))
        }
        #expect(logged == [true, true] + [Bool](repeating: false, count: 200))
        let first = log.due(at: start + .seconds(5))
        #expect(first.map(\.source) == [AddressRefusalLog.others] && first.first?.count == 100)
        let second = log.due(at: start + .seconds(10))
        #expect(second.map(\.source) == ["a"] && second.first?.count == 100)
        let again = (log.refused("a", at: start + .seconds(11)), log.refused("b", at: start + .seconds(11)))
        #expect(again == (false, true))  // b had none in its interval: forgotten, so logged at once again
        let third = log.due(at: start + .seconds(20))
        #expect(third.map(\.count) == [1])
        let fourth = log.due(at: start + .seconds(30))
        #expect(fourth.isEmpty)
    }
}
