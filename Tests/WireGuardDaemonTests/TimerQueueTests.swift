import Testing
@testable import WireGuardDaemon

/// Peer timers are queued by deadline: a wakeup visits the peers that are due, and nothing is lost when a peer
/// is armed again, earlier or later, or removed.
@Suite struct TimerQueueTests {
    @Test func entriesComeOutEarliestFirst() {
        var queue = TimerQueue()
        let deadlines: [UInt64] = [50, 10, 40, 10, 30, 20, 60, 5]
        for (peer, deadline) in deadlines.enumerated() { queue.push(deadline, peer: UInt32(peer)) }
        #expect(queue.earliest == 5)
        #expect(queue.popDue(now: 4) == nil)
        var out = [UInt64]()
        while let entry = queue.popDue(now: 45) { out.append(entry.deadline) }
        #expect(out == [5, 10, 10, 20, 30, 40])
        #expect(queue.count == 2 && queue.earliest == 50)
    }

    /// Armed later, a peer stays queued for its earlier time, and that wakeup queues it for the rest; armed
    /// earlier, it is queued again and the old entry is skipped.
    @Test func aPeerArmedAgainFiresAtEachDeadline() {
        let device = FuzzDevice().make()
        let id = device.peers.ids[0]
        let t0 = FuzzDevice.start
        device.peers[id]!.timers.zeroKeyMaterial = t0 + 100
        device.armed(id, t0 + 100)
        device.peers[id]!.timers.persistentKeepalive = t0 + 200
        device.armed(id, t0 + 200)
        #expect(device.nextTimerDeadline == t0 + 100)
        device.peers[id]!.timers.persistentKeepalive = t0 + 50
        device.armed(id, t0 + 50)
        #expect(device.nextTimerDeadline == t0 + 50)
        #expect(device.runTimers(now: t0 + 50) == t0 + 100, "the stale entry at t0+100 is what is left")
        #expect(device.peers[id]!.timers.persistentKeepalive == 0)
        _ = device.runTimers(now: t0 + 100)
        #expect(device.peers[id]!.timers.zeroKeyMaterial == 0, "the zero-key timer fired")
        #expect(device.timerQueue.isEmpty)
    }

    /// 10,000 idle peers and one with a timer: the queue holds that one.
    @Test func idlePeersAreNotQueued() {
        let device = DevicePair().alice
        #expect(device.uapiSet(UAPIStreamTests.setRequest(peers: 10_000).split(separator: "\n").dropFirst().map { $0 }, now: 0) == 0)
        let id = device.peers.ids[5000]
        device.peers[id]!.timers.sendKeepalive = 10 * Clock.second
        device.armed(id, 10 * Clock.second)
        #expect(device.timerQueue.count == 1)
        #expect(device.runTimers(now: Clock.second) == 10 * Clock.second)
    }
}
