import Logging
import Supervision
import Testing

/// Processes that are only recorded: a test ends them with `exit`.
struct RecordedProcesses: ChildProcesses {
    struct SpawnFailed: Error {}
    var nextPid: Int32 = 100
    var failStarts = false
    var started: [(interface: String, pid: Int32)] = []
    var exited: [Int32: String] = [:]
    var terminated: [Int32] = []
    var killed: [Int32] = []

    mutating func start(_ interface: String) throws -> Int32 {
        guard !failStarts else { throw SpawnFailed() }
        nextPid += 1
        started.append((interface, nextPid))
        return nextPid
    }

    mutating func ended(_ pid: Int32) -> String? { exited.removeValue(forKey: pid) }
    mutating func terminate(_ pid: Int32) { terminated.append(pid) }
    mutating func kill(_ pid: Int32) { killed.append(pid) }
    mutating func exit(_ pid: Int32) { exited[pid] = "exited with status 1" }
    var startedNames: [String] { started.map(\.interface) }
}

final class SupervisionTests {
    let t0 = ContinuousClock.now
    var supervision = Supervision(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    var processes = RecordedProcesses()

    func reconcile(at offset: Duration, _ readiness: @escaping (String) -> Readiness = { _ in .ready }) {
        supervision.reconcile(now: t0 + offset, readiness: readiness, processes: &processes)
    }

    /// Kills `name`'s session at `offset` and returns when, from then on, reconciles every 250 ms start it again.
    func restartDelay(of name: String, killedAt offset: Duration) -> Duration {
        processes.exit(supervision.running[name]!)
        var at = offset
        reconcile(at: at)
        let before = processes.started.count
        while processes.started.count == before && at < offset + .seconds(200) {
            at += .milliseconds(250)
            reconcile(at: at)
        }
        return at - offset
    }

    @Test func startsOnlyReadyInterfacesAndAsksAgainWhenNotYet() {
        for name in ["wg2", "wg0", "wg1"] { supervision.interfaceAdded(name) }
        var ready: Set<String> = ["wg0"]
        let readiness: (String) -> Readiness = { [ready] in
            ready.contains($0) ? .ready : $0 == "wg1" ? .notYet : .skipped("ignored: no wg-ice settings")
        }
        reconcile(at: .zero, readiness)
        #expect(processes.startedNames == ["wg0"])
        ready.insert("wg1")
        reconcile(at: .seconds(1)) { [ready] in ready.contains($0) ? .ready : .notYet }
        #expect(processes.startedNames == ["wg0", "wg1"])
        #expect(Set(supervision.running.keys) == ["wg0", "wg1"])
    }

    @Test func restartsAfterDoublingDelaysUpTo64SecondsThenAfterAStableRunAtOnceAgain() {
        supervision.interfaceAdded("wg0")
        reconcile(at: .zero)
        var now = Duration.zero
        var delays: [Duration] = []
        for _ in 0..<8 {
            let delay = restartDelay(of: "wg0", killedAt: now)
            delays.append(delay)
            now += delay
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 64, 64].map { Duration.seconds($0) })
        // A session that ran more than a minute failed for a new reason: the count starts again.
        now += .seconds(61)
        #expect(restartDelay(of: "wg0", killedAt: now) == .seconds(1))
    }

    @Test func aFailedSpawnBacksOffLikeAFailedSession() {
        supervision.interfaceAdded("wg0")
        processes.failStarts = true
        reconcile(at: .zero)
        reconcile(at: .milliseconds(999))
        reconcile(at: .seconds(1))
        reconcile(at: .seconds(2))
        processes.failStarts = false
        reconcile(at: .milliseconds(2999))
        #expect(processes.started.isEmpty)
        reconcile(at: .seconds(3))
        #expect(processes.startedNames == ["wg0"])
    }

    @Test func aChildWhoseInterfaceWentAwayIsNotRestartedAndANewInterfaceStartsAtOnce() {
        supervision.interfaceAdded("wg0")
        reconcile(at: .zero)
        let first = supervision.running["wg0"]!
        _ = restartDelay(of: "wg0", killedAt: .seconds(1))  // one failure: the next would wait 2 s
        supervision.interfaceRemoved("wg0")
        processes.exit(supervision.running["wg0"]!)
        reconcile(at: .seconds(10))
        #expect(supervision.running.isEmpty)
        #expect(processes.started.count == 2 && processes.started[0].pid == first)
        // Back again (wg-quick up after down): no backoff left from the previous appearance.
        supervision.interfaceAdded("wg0")
        reconcile(at: .seconds(10))
        #expect(processes.started.count == 3)
    }

    @Test func stoppingStartsNothingTerminatesEveryChildAndKillsTheRest() {
        for name in ["wg0", "wg1", "wg2"] { supervision.interfaceAdded(name) }
        reconcile(at: .zero)
        let pids = supervision.running
        supervision.stop()
        supervision.terminateAll(processes: &processes)
        #expect(Set(processes.terminated) == Set(pids.values))
        processes.exit(pids["wg0"]!)
        supervision.interfaceAdded("wg3")
        reconcile(at: .seconds(5))
        #expect(processes.started.count == 3, "a start or restart while stopping")
        #expect(Set(supervision.running.keys) == ["wg1", "wg2"])
        supervision.killRemaining(processes: &processes)
        #expect(Set(processes.killed) == [pids["wg1"]!, pids["wg2"]!])
        #expect(supervision.running.isEmpty)
    }
}
