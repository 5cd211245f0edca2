import CLibWebSockets
import Synchronization

/// Where libwebsockets' own log lines go. lws has one process-wide emitter; by default it writes to stderr in
/// its own format. `forwardLibraryLog` routes its error and warning lines to a closure instead (the hub's
/// logger), so one process writes one log format.
extension WebSocketServer {
    /// Sends libwebsockets' error and warning lines to `sink`, one line each, without the trailing newline.
    public static func forwardLibraryLog(_ sink: @escaping @Sendable (String) -> Void) {
        LibraryLog.sink.withLock { $0 = LibraryLog.Sink(forward: sink) }
        lws_set_log_level(LLL_ERR | LLL_WARN, LibraryLog.emit)
    }
}

enum LibraryLog {
    /// The closure sits in a struct: a bare closure as a `Mutex`'s value is re-abstracted on every `withLock`
    /// access and the stored value grows by two thunks each time (one more stack frame pair per log line).
    struct Sink: Sendable {
        let forward: @Sendable (String) -> Void
    }

    static let sink = Mutex<Sink?>(nil)

    /// lws's emitter: called on whichever thread logs (the service thread, in practice).
    static let emit: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { _, line in
        guard let line else { return }
        var text = String(cString: line)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        guard let sink = LibraryLog.sink.withLock({ $0 }) else { return }
        sink.forward("libwebsockets: " + text)
    }
}
