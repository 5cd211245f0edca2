/// One complete message as an application sees it.
public enum WebSocketMessage: Equatable, Sendable {
    case text(String)
    case binary([UInt8])
    /// The peer's close frame (1005 when it carried no code; 1006 when the connection dropped
    /// without one). Always the last message of a connection.
    case close(code: UInt16, reason: String)
}

/// Why a client connection failed or an operation on it did not complete.
public enum WebSocketClientError: Error, Equatable, Sendable {
    /// Host name or address could not be turned into an IPv4 address.
    case unresolvableHost(String)
    /// A socket call failed; `errno` as reported.
    case socketFailed(operation: String, errno: Int32)
    /// The server answered the upgrade with this HTTP status instead of 101.
    case handshakeRejected(status: Int)
    /// The 101 response was malformed or its Sec-WebSocket-Accept did not match our key.
    case invalidHandshake(String)
    /// The server broke RFC 6455 (e.g. a masked frame, a bad opcode); the connection is dropped.
    case protocolViolation(String)
    /// The connection ended before the handshake completed.
    case connectionLost
    /// Nothing arrived in time.
    case timedOut
    /// The connection is closed; nothing more can be sent.
    case closed
}
