import Foundation
import Logging

/// Logs of a detached session go to syslog (the journal on systemd hosts): it has no terminal.
func bootstrapSyslog(level: Logger.Level) {
    // openlog keeps the pointer: the identity string must live as long as the process.
    openlog(strdup("wg-ice-hook"), LOG_PID, LOG_DAEMON)
    LoggingSystem.bootstrap { _ in
        var handler = SyslogLogHandler()
        handler.logLevel = level
        return handler
    }
}

struct SyslogLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        let all = metadata.merging(explicit ?? [:]) { _, new in new }
        let context = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = context.isEmpty ? "\(message)" : "\(context) \(message)"
        // syslog(3) is variadic; vsyslog with a fixed "%s" keeps `%` in messages literal.
        text.withCString { cText in
            withVaList([cText]) { vsyslog(Self.priority(level), "%s", $0) }
        }
    }

    static func priority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: LOG_DEBUG
        case .info: LOG_INFO
        case .notice: LOG_NOTICE
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .critical: LOG_CRIT
        }
    }
}
