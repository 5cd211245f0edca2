/// Identifies one WebSocket connection for the lifetime of a ``WebSocketServer``; never reused.
public typealias ConnectionID = UInt64

/// What the handshake told us about a new connection.
public struct ConnectionInfo: Sendable, Equatable {
    /// The peer's numeric address as libwebsockets reports it (e.g. "127.0.0.1").
    public let peerAddress: String
    /// The `User-Agent` header of the upgrade request, if any.
    public let userAgent: String?
    /// The `Origin` header of the upgrade request, if any (browsers always send one).
    public let origin: String?

    public init(peerAddress: String, userAgent: String?, origin: String?) {
        self.peerAddress = peerAddress
        self.userAgent = userAgent
        self.origin = origin
    }
}

/// Everything the transport reports to its single consumer, in per-connection order.
public enum TransportEvent: Sendable {
    /// A WebSocket handshake completed; messages for this id follow.
    case opened(ConnectionID, ConnectionInfo)
    /// One complete inbound text message (fragments reassembled, UTF-8 checked), at most `messageBytesMax`
    /// bytes.
    case message(ConnectionID, [UInt8])
    /// One complete inbound binary message (fragments reassembled), at most `messageBytesMax` bytes. Counts
    /// against the inbound backlog like a text message: report it with ``WebSocketServer/consumed(_:)``.
    case binaryMessage(ConnectionID, [UInt8])
    /// The connection is gone, whoever closed it; no event for this id follows.
    case closed(ConnectionID)
}

/// The kind of a WebSocket data message (the opcode of its first frame).
public enum MessageKind: Sendable, Equatable {
    case text
    case binary
}

/// The close codes this transport sends. The hub's docs/protocol.md copies this table.
///
/// | code | meaning |
/// |---|---|
/// | 1000 | normal closure (whatever the application passes to `close`) |
/// | 1001 | going away: the server is shutting down |
/// | 1002 | protocol error: e.g. a close frame with a 1-byte payload or an invalid close code |
/// | 1007 | invalid payload: a text message or a close reason that is not UTF-8 |
/// | 1009 | message too big: an inbound message exceeded `messageBytesMax` |
/// | 4008 | slow consumer: the outbound queue exceeded `outboundQueueBytesMax` or `outboundQueueMessagesMax` |
///
/// Whatever the code, the socket is gone at most `closeTimeoutSeconds` after the close was asked for.
public enum TransportCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let invalidPayload: UInt16 = 1007
    public static let messageTooBig: UInt16 = 1009
    public static let slowConsumer: UInt16 = 4008
}

/// The event loop libwebsockets runs on its service thread.
public enum EventLoop: String, Sendable {
    /// lws's built-in poll(2) loop: no plugin needed; about twice the CPU of libev at 1,000 connections.
    case poll
    /// libev through the `libwebsockets-evlib_ev` plugin (epoll underneath).
    case libev
}

/// Why ``WebSocketServer/start()`` failed.
public struct WebSocketServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Another socket already listens on the address.
        case addressInUse
        /// libwebsockets refused to create its context (see its log lines on stderr).
        case contextCreationFailed
        /// The transport's own listening socket could not be made (socket, bind, listen or
        /// resolving the host failed for a reason other than the address being taken; errno in the description).
        case listenFailed
        /// `start()` was called twice, or after `shutdown()`.
        case alreadyStarted
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
