import Testing
@testable import WireGuardDaemon

/// The anti-replay window at its edges (RFC 6479 with 8128 counters of history, as wireguard-go and the kernel).
@Suite struct ReplayWindowTests {
    /// What `accept` answers for each counter in turn.
    func feed(_ w: inout ReplayWindow, _ counters: [UInt64], limit: UInt64 = Protocol.rejectAfterMessages) -> [Bool] {
        counters.map { w.accept($0, limit: limit) }
    }

    @Test func eachCounterOnce() {
        var w = ReplayWindow()
        #expect(feed(&w, [0, 0, 2, 1, 1, 2]) == [true, false, true, true, false, false])
    }

    @Test func windowEdges() {
        var w = ReplayWindow()
        #expect(ReplayWindow.size == 8128)
        // Just outside, the oldest still inside (once), and one behind the newest.
        #expect(feed(&w, [10_000, 10_000 - 8129, 10_000 - 8128, 10_000 - 8128, 9_999]) == [true, false, true, false, true])
        // Moving forward by more than the ring clears it: old bits must not reject new counters.
        let far: UInt64 = 10_000 + 64 * 200
        #expect(feed(&w, [far, far - 640, far - 640]) == [true, true, false])
    }

    @Test func ringWrapDoesNotForget() {
        var w = ReplayWindow()
        #expect(feed(&w, Array(0..<20_000)).allSatisfy { $0 })
        #expect(feed(&w, Array((20_000 - 8128)..<20_000) + [0]).allSatisfy { !$0 })
    }

    @Test func limits() {
        var w = ReplayWindow()
        let last = Protocol.rejectAfterMessages
        #expect(feed(&w, [last, last - 1]) == [false, true])
        var v = ReplayWindow()
        #expect(feed(&v, [5, 4], limit: 5) == [false, true])
    }
}
