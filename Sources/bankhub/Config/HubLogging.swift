import Logging
import WebSocketTransport

/// One logger for the whole process: swift-log lines, the transport's own lines and libwebsockets' lines all
/// go through it, in the format `--log-format` chose.
enum HubLogging {
    /// Bootstraps swift-log once for this process and returns the hub's logger.
    static func bootstrap(format: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "json"
                ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "bankhub")
        logger.logLevel = level
        let libraryLogger = logger
        WebSocketServer.forwardLibraryLog { line in libraryLogger.warning("\(line)", source: "libwebsockets") }
        return logger
    }

    /// The transport's own lines (listening, event-loop fallback, stops), as notices from source `transport`.
    static func transportLog(_ logger: Logger) -> @Sendable (String) -> Void {
        { line in logger.notice("\(line)", source: "transport") }
    }
}
