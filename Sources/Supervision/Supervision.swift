import Logging
import Retry

/// What `wg-ice-hook watch` decides: one session child per present, ready interface; a child that dies while its
/// interface exists is restarted after a backoff; a child whose interface went away ends by itself and is not
/// restarted; stopping asks every child to end. Level-triggered: every `reconcile` starts what is missing and reaps
/// what ended, so a missed event only delays things until the next one. The time is passed in, so tests run it
/// on instants of their own.
public struct Supervision: Sendable {
    /// A quick failure doubles the wait before the next start: 1 s doubling to 64 s. A child that ran longer than
    /// `stableRun` starts the count again.
    public static let restartBackoff = Backoff(initial: .seconds(1), maximum: .seconds(64))
    public static let stableRun: Duration = .seconds(60)

    private struct Child: Sendable {
        var pid: Int32
        var started: ContinuousClock.Instant
        /// The interface went away: the child ends by itself, and its exit is not a failure.
        var interfaceGone = false
    }

    private let logger: Logger
    private var present: Set<String> = []
    private var children: [String: Child] = [:]
    private var failures: [String: Int] = [:]
    private var notBefore: [String: ContinuousClock.Instant] = [:]
    /// Interfaces skipped, with the reason as last logged, so each reason is logged once per appearance.
    private var skipped: [String: String] = [:]
    public private(set) var stopping = false

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The process of each interface's running session.
    public var running: [String: Int32] { children.mapValues(\.pid) }

    public mutating func interfaceAdded(_ name: String) {
        present.insert(name)
    }

    public mutating func interfaceRemoved(_ name: String) {
        present.remove(name)
        children[name]?.interfaceGone = true
        failures[name] = nil
        notBefore[name] = nil
        skipped[name] = nil
    }

    /// Reaps children that ended, then starts a session for every present interface that has none, is past its
    /// backoff and is `ready`.
    public mutating func reconcile(now: ContinuousClock.Instant, readiness: (String) -> Readiness,
                                   processes: inout some ChildProcesses) {
        reap(now: now, processes: &processes)
        guard !stopping else { return }
        for name in present.sorted() where children[name] == nil && notBefore[name].map({ now >= $0 }) ?? true {
            switch readiness(name) {
            case .ready:
                skipped[name] = nil
                start(name, now: now, processes: &processes)
            case .notYet:
                break
            case .skipped(let reason) where skipped[name] != reason:
                skipped[name] = reason
                logger.info("\(name): \(reason)")
            case .skipped:
                break
            }
        }
    }

    /// No more starts or restarts: a child that ends from now on is only reaped.
    public mutating func stop() {
        stopping = true
    }

    /// Asks every child to end (after `stop`).
    public func terminateAll(processes: inout some ChildProcesses) {
        for child in children.values { processes.terminate(child.pid) }
    }

    /// Kills the children that did not end after `stop`.
    public mutating func killRemaining(processes: inout some ChildProcesses) {
        for (name, child) in children {
            logger.warning("\(name): session \(child.pid) did not stop; killing it")
            processes.kill(child.pid)
        }
        children = [:]
    }

    private mutating func start(_ name: String, now: ContinuousClock.Instant, processes: inout some ChildProcesses) {
        do {
            let pid = try processes.start(name)
            children[name] = Child(pid: pid, started: now)
            logger.info("\(name): session started (pid \(pid))")
        } catch {
            logger.error("\(name): cannot start a session: \(error)")
            backOff(name, now: now)
        }
    }

    /// Collects children that ended; one that ended while its interface exists is restarted after the backoff.
    public mutating func reap(now: ContinuousClock.Instant, processes: inout some ChildProcesses) {
        for (name, child) in children {
            guard let how = processes.ended(child.pid) else { continue }
            children[name] = nil
            guard !child.interfaceGone, present.contains(name), !stopping else {
                logger.info("\(name): session \(child.pid) \(how)")
                continue
            }
            if now - child.started > Self.stableRun { failures[name] = nil }
            let delay = backOff(name, now: now)
            logger.warning("\(name): session \(child.pid) \(how); restarting in \(delay)")
        }
    }

    @discardableResult
    private mutating func backOff(_ name: String, now: ContinuousClock.Instant) -> Duration {
        let count = (failures[name] ?? 0) + 1
        failures[name] = count
        let delay = Self.restartBackoff.delay(forAttempt: count - 1)
        notBefore[name] = now + delay
        return delay
    }
}
