import BankWire
import BankCore
import WebSocketTransport

/// How a connection reaches the hub.
enum ConnectionKind: Sendable, Equatable {
    /// A WebSocket: sessions come from `login` or `auth` and last as long as the socket.
    case webSocket
    /// One HTTP API request: a connection that lives for that request, with the session of its bearer token.
    case httpRequest
    /// A server-sent-event stream: a connection with one subscription, ended with its session.
    case eventStream

    /// Whether `/healthz` counts it among open connections (a single request is not one).
    var isCounted: Bool { self != .httpRequest }
}

/// HTTP requests and event streams are short-lived connections of the hub: they are opened with the session
/// their bearer token names, then go through `handle` exactly as WebSocket frames do (rate limits per user
/// and per address, permissions, the dispatcher), and are closed when the transport reports the exchange over.
extension Hub {
    func openedHTTP(_ id: ConnectionID, _ info: ConnectionInfo, kind: ConnectionKind, session: Session?) {
        assert(kind != .webSocket, "WebSockets open through opened(_:_:)")
        assert(connections[id] == nil, "exchange ids are never reused")
        connections[id] = Connection(info: info, session: session, kind: kind)
        if kind.isCounted { statistics.connections.add(1, ordering: .relaxed) }
    }

    /// The open event streams, for the heartbeat.
    func eventStreamIDs() -> [ConnectionID] {
        connections.compactMap { id, connection in connection.kind == .eventStream ? id : nil }
    }

    /// A responder whose answer goes to `deliver` instead of a reply frame.
    nonisolated func responder(for id: ConnectionID, op: Op,
                               deliver: @escaping @Sendable (Result<JSONValue, BankError>) -> Void) -> Responder {
        Responder(connection: id, requestID: .null, sink: sink, inFlight: inFlight, op: op, logger: logger,
                  deliver: deliver)
    }
}
