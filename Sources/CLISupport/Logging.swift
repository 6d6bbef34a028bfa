import Logging

/// Sends swift-log output to stderr at `level`; every wg-ice executable calls this once at start.
public func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
