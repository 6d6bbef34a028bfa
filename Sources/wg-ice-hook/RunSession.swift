import CLISupport
import Foundation
import Logging
import Session

/// The session process: pidfile, control socket, signals, then the session until it ends.
func runSession(interface: String, settings: SessionSettings, level: Logger.Level, syslog: Bool) async throws {
    if syslog { bootstrapSyslog(level: level) } else { bootstrapLogging(level: level) }
    let logger = Logger(label: "wg-ice-hook")
    signal(SIGPIPE, SIG_IGN)
    try RuntimeFiles.prepare()
    try writePidfile(interface, pid: getpid())
    defer { removePidfile(interface) }

    let session: InterfaceSession
    do {
        session = try await InterfaceSession(interface: interface, settings: settings, logger: logger)
    } catch {
        logger.error("\(interface): \(error)")
        throw error
    }
    let server = try ControlServer(path: RuntimeFiles.socket(interface)) { request in
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
    defer { server.close() }
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

/// Removes the pidfile only while it still names this process (a newer session may have replaced it).
func removePidfile(_ interface: String) {
    let path = RuntimeFiles.pidfile(interface)
    if let text = try? String(contentsOfFile: path, encoding: .utf8),
       pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) == getpid() {
        unlink(path)
    }
}
