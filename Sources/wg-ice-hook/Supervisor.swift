import ConfParser
import Foundation
import Logging
import Session
import Supervision
import Synchronization
import WireGuard

/// `wg-ice-hook watch`: one `up IFACE --foreground` child per WireGuard interface that has wg-ice settings. What to
/// start, restart and stop is `Supervision`'s; this actor feeds it the interface events, a one-second tick and the
/// signals, and gives it the real processes and configuration checks.
actor Supervisor {
    private let configDirectory: String
    private let logger: Logger
    private let monitor: WireGuardMonitor
    private let noConfiguration: LoggedOnce
    private var supervision: Supervision
    private var processes: SessionChildren

    init(configDirectory: String, logger: Logger) throws {
        self.configDirectory = configDirectory
        self.logger = logger
        supervision = Supervision(logger: logger)
        processes = SessionChildren(configDirectory: configDirectory)
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
                while let self, await !self.supervision.stopping {
                    await self.reconcile()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        await stopChildren()
        logger.info("watch ended")
    }

    func stop() {
        supervision.stop()
        monitor.cancel()
    }

    private func handle(_ event: WireGuardEvent) {
        switch event {
        case .interfaceAdded(let name):
            supervision.interfaceAdded(name)
            reconcile()
        case .interfaceRemoved(let name):
            supervision.interfaceRemoved(name)
        default:
            break
        }
    }

    private func reconcile() {
        let configDirectory = configDirectory
        supervision.reconcile(now: .now, readiness: { readiness($0, config: "\(configDirectory)/\($0).conf") },
                              processes: &processes)
    }

    /// SIGTERM to every child, then up to 10 s for them to say bye and remove their paths, then SIGKILL.
    private func stopChildren() async {
        supervision.terminateAll(processes: &processes)
        let deadline = ContinuousClock.now + .seconds(10)
        while !supervision.running.isEmpty && ContinuousClock.now < deadline {
            supervision.reap(now: .now, processes: &processes)
            try? await Task.sleep(for: .milliseconds(50))
        }
        supervision.killRemaining(processes: &processes)
    }
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

/// The watch's children: `wg-ice-hook up IFACE --foreground --config DIR/IFACE.conf`, each dropping its own privileges.
private struct SessionChildren: ChildProcesses {
    let configDirectory: String

    func start(_ interface: String) throws -> Int32 {
        try spawnSelf(["up", interface, "--foreground", "--config", "\(configDirectory)/\(interface).conf"], detached: false)
    }

    func ended(_ pid: Int32) -> String? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
    }

    func terminate(_ pid: Int32) { Foundation.kill(pid, SIGTERM) }

    func kill(_ pid: Int32) {
        Foundation.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
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
