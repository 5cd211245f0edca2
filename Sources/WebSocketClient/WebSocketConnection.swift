import Synchronization

/// An async face over one ``WebSocketClientLoop`` connection, for tests and tools.
///
/// Safe to use from many tasks at once across connections; on one connection, receive from one
/// task at a time.
public final class WebSocketConnection: Sendable {
    public let connection: WebSocketClientLoop.Connection
    /// The subprotocol the server chose, if any.
    public let subprotocol: String?
    private let mailbox: ConnectionMailbox

    private init(connection: WebSocketClientLoop.Connection, subprotocol: String?, mailbox: ConnectionMailbox) {
        self.connection = connection
        self.subprotocol = subprotocol
        self.mailbox = mailbox
    }

    /// Connects and completes the handshake, or throws (e.g. `.handshakeRejected(status: 403)`).
    public static func connect(host: String = "127.0.0.1", port: Int, path: String = "/",
                               subprotocol: String? = nil, origin: String? = nil,
                               sourceAddress: String? = nil, headers: [(name: String, value: String)] = [],
                               receiveBufferBytes: Int? = nil,
                               loop: WebSocketClientLoop = .shared) async throws -> WebSocketConnection {
        let mailbox = ConnectionMailbox()
        let handle = Mutex<WebSocketClientLoop.Connection?>(nil)
        let chosen = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String?, any Error>) in
            mailbox.state.withLock { $0.opening = continuation }
            do throws(WebSocketClientError) {
                let connection = try loop.connect(host: host, port: port, path: path, subprotocol: subprotocol,
                                                  origin: origin, sourceAddress: sourceAddress, headers: headers,
                                                  receiveBufferBytes: receiveBufferBytes,
                                                  handler: mailbox.deliver)
                handle.withLock { $0 = connection }
            } catch {
                mailbox.deliver(.failed(error))
            }
        }
        guard let connection = handle.withLock({ $0 }) else { throw WebSocketClientError.connectionLost }
        return WebSocketConnection(connection: connection, subprotocol: chosen, mailbox: mailbox)
    }

    /// Sends one text message; throws `.closed` once the connection has ended.
    public func send(_ text: String) async throws {
        try throwIfEnded()
        connection.send(text: text)
    }

    /// Sends raw, already-encoded frames (e.g. a fragmented message).
    public func send(frames: [UInt8]) async throws {
        try throwIfEnded()
        connection.send(frames: frames)
    }

    /// The next message; after the close it returns that close again. Throws `.timedOut`.
    public func receive(timeout: Duration = .seconds(5)) async throws -> WebSocketMessage {
        let mailbox = self.mailbox
        let timer = Mutex<Task<Void, Never>?>(nil)
        defer { timer.withLock { $0?.cancel() } }
        return try await withCheckedThrowingContinuation { continuation in
            guard let token = mailbox.take(continuation) else { return }
            let task = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { mailbox.expire(token, with: .timedOut) }
            }
            timer.withLock { $0 = task }
        }
    }

    /// Starts the closing handshake (code 1000 unless given); the server's close is the last message.
    public func close(code: UInt16 = 1000, reason: String = "") {
        connection.close(code: code, reason: reason)
    }

    /// Stops/resumes reading the socket, to make the server see a slow consumer.
    public func suspendReading() { connection.suspendReading() }
    public func resumeReading() { connection.resumeReading() }

    private func throwIfEnded() throws {
        let ended = mailbox.state.withLock { $0.finalClose != nil || $0.failure != nil }
        if ended { throw WebSocketClientError.closed }
    }
}
