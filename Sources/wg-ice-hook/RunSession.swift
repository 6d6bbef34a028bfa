import CLISupport
import Foundation
import Logging
import Session

/// The session process. Everything that needs root happens first, on the main thread while it is the only
/// one: pidfile, control socket, the WireGuard connections; then the privilege drop; then the async session
/// on those already-open resources.
func runForeground(interface: String, settings: SessionSettings, account sessionAccount: SessionAccount,
                   level: Logger.Level, syslog: Bool) throws {
    if syslog { bootstrapSyslog(level: level) } else { bootstrapLogging(level: level) }
    let logger = Logger(label: "wg-ice-hook")
    let account = sessionAccount.account
    if let note = sessionAccount.fallbackNote { logger.warning("\(interface): \(note)") }
    signal(SIGPIPE, SIG_IGN)
    let connections: InterfaceConnections
    let server: ControlServer
    do {
        try RuntimeFiles.prepare()
        try writePidfile(interface, pid: getpid())
        connections = try InterfaceConnections(interface: interface)
        server = try ControlServer(path: RuntimeFiles.socket(interface))
        if !account.isRoot { try Privileges.drop(to: account) }
    } catch {
        logger.error("\(interfaceMessage(error, about: interface))")
        unlink(RuntimeFiles.socket(interface))
        removePidfile(interface)
        throw error
    }
    if !account.isRoot { logger.info("\(interface): running as \(account.name) with CAP_NET_ADMIN only") }
    defer { removePidfile(interface) }
    defer { server.close() }
    try blockOn {
        try await runSession(interface: interface, settings: settings, connections: connections, server: server, logger: logger)
    }
}

private func runSession(interface: String, settings: SessionSettings, connections: InterfaceConnections,
                        server: ControlServer, logger: Logger) async throws {
    let session: InterfaceSession
    do {
        session = try await InterfaceSession(interface: interface, settings: settings, connections: connections, logger: logger)
    } catch {
        logger.error("\(interfaceMessage(error, about: interface))")
        throw error
    }
    server.serve { request in
        switch request {
        case "status":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let status = await session.status()
            let data = (try? encoder.encode(status)) ?? Data()
            return String(decoding: data, as: UTF8.self) + "\n"
        case "stop":
            Task { await session.stop() }
            return "stopping\n"
        default:
            return "unknown request\n"
        }
    }
    let signals = [SIGTERM, SIGINT, SIGHUP].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number)
        source.setEventHandler { Task { await session.stop() } }
        source.resume()
        return source
    }
    defer { signals.forEach { $0.cancel() } }
    await session.run()
}

/// Removes the pidfile only while it still names this process (a newer session may have replaced it). After
/// the privilege drop this fails (the directory is root's): readers then find the process gone and clean up.
func removePidfile(_ interface: String) {
    let path = RuntimeFiles.pidfile(interface)
    if let text = try? String(contentsOfFile: path, encoding: .utf8),
       pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) == getpid() {
        unlink(path)
    }
}
