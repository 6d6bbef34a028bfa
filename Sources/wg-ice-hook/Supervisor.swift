import ConfParser
import Foundation
import Logging
import Session
import Synchronization
import WireGuard

/// `wg-ice-hook watch`: one `up IFACE --foreground` child per WireGuard interface that has wg-ice settings.
/// Level-triggered: interface events and a one-second tick both call `reconcile`, which starts what is missing
/// and reaps what ended, so a missed event only delays things by a tick.
actor Supervisor {
    private struct Child {
        var pid: pid_t
        var started: ContinuousClock.Instant
        /// The interface went away: the child ends by itself, and its exit is not a failure.
        var interfaceGone = false
    }

    private let configDirectory: String
    private let logger: Logger
    private let monitor: WireGuardMonitor
    private let noConfiguration: LoggedOnce
    private var present: Set<String> = []
    private var children: [String: Child] = [:]
    private var failures: [String: Int] = [:]
    private var notBefore: [String: ContinuousClock.Instant] = [:]
    /// Interfaces whose configuration has no usable wg-ice settings or that have a session of their own, as
    /// last logged, so each reason is logged once per appearance.
    private var skipped: [String: String] = [:]
    private var stopping = false

    init(configDirectory: String, logger: Logger) throws {
        self.configDirectory = configDirectory
        self.logger = logger
        let noConfiguration = LoggedOnce(logger)
        self.noConfiguration = noConfiguration
        // Interfaces without a configuration here are not even opened: other tools' (or, in tests, other
        // namespaces') interfaces share /var/run/wireguard.
        monitor = try WireGuardMonitor { name in
            let found = FileManager.default.fileExists(atPath: "\(configDirectory)/\(name).conf")
            if !found { noConfiguration.log(name, "\(name): ignored: no \(configDirectory)/\(name).conf") }
            return found
        }
    }

    func run() async {
        logger.info("watching WireGuard interfaces with configurations in \(configDirectory)")
        let signals = [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { [weak self] in Task { await self?.stop() } }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        await withTaskGroup(of: Void.self) { group in
            let monitor = monitor
            group.addTask { [weak self] in
                for await event in monitor { await self?.handle(event) }
                // Only `stop()` ends the monitor normally; if it died, sessions must not go unwatched.
                await self?.stop()
            }
            group.addTask { [weak self] in
                while let self, await !self.stopping {
                    await self.reconcile()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        await stopChildren()
        logger.info("watch ended")
    }

    func stop() {
        stopping = true
        monitor.cancel()
    }

    private func handle(_ event: WireGuardEvent) {
        switch event {
        case .interfaceAdded(let name):
            present.insert(name)
            reconcile()
        case .interfaceRemoved(let name):
            present.remove(name)
            children[name]?.interfaceGone = true
            failures[name] = nil
            notBefore[name] = nil
            skipped[name] = nil
        default:
            break
        }
    }

    private func reconcile() {
        reap()
        guard !stopping else { return }
        let now = ContinuousClock.now
        for name in present.sorted() where children[name] == nil && notBefore[name].map({ now >= $0 }) ?? true {
            let config = "\(configDirectory)/\(name).conf"
            switch readiness(name, config: config) {
            case .ready:
                skipped[name] = nil
                start(name, config: config)
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

    private enum Readiness {
        case ready
        /// Not configured yet; asked again on the next tick.
        case notYet
        /// Logged once per appearance of the interface.
        case skipped(String)
    }

    private func readiness(_ name: String, config: String) -> Readiness {
        let result: ParseResult
        do {
            result = try ConfParser.parse(contentsOf: config)
        } catch {
            return .skipped("ignored: \(error)")
        }
        guard result.isValid else { return .skipped("ignored: \(config) is not valid (see wg-ice-hook check \(config))") }
        guard result.configuration.hasICESettings,
              (try? SessionSettings(result.configuration, interface: name)) != nil else {
            return .skipped("ignored: \(config) has no wg-ice settings (Signaling URL)")
        }
        if let pid = runningSession(name) { return .skipped("has a session already (pid \(pid)): left alone") }
        // wg-quick sets the key right after creating the interface: until then a session could only fail.
        guard let control = try? WireGuard.open(name) else { return .notYet }
        defer { control.close() }
        return (try? control.device())?.privateKey != nil ? .ready : .notYet
    }

    private func start(_ name: String, config: String) {
        do {
            let pid = try spawnSelf(["up", name, "--foreground", "--config", config], detached: false)
            children[name] = Child(pid: pid, started: .now)
            logger.info("\(name): session started (pid \(pid))")
        } catch {
            logger.error("\(name): cannot start a session: \(error)")
            backOff(name)
        }
    }

    /// Collects children that ended; one that ended while its interface exists is restarted after a delay
    /// that doubles per quick failure (1 s up to 60 s).
    private func reap() {
        for (name, child) in children {
            var status: Int32 = 0
            guard waitpid(child.pid, &status, WNOHANG) == child.pid else { continue }
            children[name] = nil
            let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            guard !child.interfaceGone, present.contains(name), !stopping else {
                logger.info("\(name): session \(child.pid) \(how)")
                continue
            }
            if child.started.duration(to: .now) > .seconds(60) { failures[name] = nil }
            let delay = backOff(name)
            logger.warning("\(name): session \(child.pid) \(how); restarting in \(delay)")
        }
    }

    @discardableResult
    private func backOff(_ name: String) -> Duration {
        let count = (failures[name] ?? 0) + 1
        failures[name] = count
        let delay = Duration.seconds(1 << min(count - 1, 6))
        notBefore[name] = .now + delay
        return delay
    }

    /// SIGTERM to every child, then up to 10 s for them to say bye and remove their paths, then SIGKILL.
    private func stopChildren() async {
        for child in children.values { kill(child.pid, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !children.isEmpty && ContinuousClock.now < deadline {
            reap()
            try? await Task.sleep(for: .milliseconds(50))
        }
        for (name, child) in children {
            logger.warning("\(name): session \(child.pid) did not stop; killing it")
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
        }
        children = [:]
    }
}

/// Logs a message once per key; the monitor's filter runs on the monitor's thread.
private final class LoggedOnce: Sendable {
    private let logger: Logger
    private let seen = Mutex<Set<String>>([])

    init(_ logger: Logger) { self.logger = logger }

    func log(_ key: String, _ message: String) {
        if seen.withLock({ $0.insert(key).inserted }) { logger.info("\(message)") }
    }
}
