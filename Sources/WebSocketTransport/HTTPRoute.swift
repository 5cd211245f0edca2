/// A dynamic HTTP route: every request whose path is `pathPrefix` or starts with `pathPrefix/` goes to
/// `handle` as an ``HTTPExchange`` (after its body, if any, has been read). Everything else HTTP stays with
/// libwebsockets (static files, 404) or `/healthz`.
///
/// `handle` runs on the lws service thread: it must return at once (start a task for the real work). The
/// exchange is answered from any thread with ``HTTPExchange/respond(_:)`` or turned into a stream with
/// ``HTTPExchange/startStream(_:)``. `closed` runs (also on the service thread) once per exchange handed to
/// `handle`, when it is over: answered, hung up by either side, or cut off at shutdown.
public struct HTTPRoute: Sendable {
    /// "/api/v1", "/readyz": starts with '/', no trailing '/'.
    public let pathPrefix: String
    /// Lower-case names of headers libwebsockets does not know (e.g. "idempotency-key", "last-event-id") that
    /// this route wants in ``HTTPRequest/headers``; the headers libwebsockets knows are always copied.
    public let customHeaders: [String]
    public let handle: @Sendable (HTTPExchange) -> Void
    public let closed: @Sendable (ConnectionID) -> Void

    public init(pathPrefix: String, customHeaders: [String] = [],
                handle: @escaping @Sendable (HTTPExchange) -> Void,
                closed: @escaping @Sendable (ConnectionID) -> Void = { _ in }) {
        precondition(pathPrefix.hasPrefix("/") && pathPrefix.count > 1 && !pathPrefix.hasSuffix("/"),
                     "a route prefix starts with / and does not end with it: \(pathPrefix)")
        precondition(pathPrefix.utf8.count <= 255, "lws mount points are at most 255 bytes")
        precondition(customHeaders.allSatisfy { $0 == $0.lowercased() && !$0.contains(":") },
                     "custom header names are lower-case, without ':'")
        self.pathPrefix = pathPrefix
        self.customHeaders = customHeaders
        self.handle = handle
        self.closed = closed
    }

    /// A route whose requests are each answered by one async call: the common "GET with headers → status,
    /// content type, extra headers, body" case (e.g. a CSV statement behind a bearer token).
    public static func responding(to pathPrefix: String, customHeaders: [String] = [],
                                  _ answer: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) -> HTTPRoute {
        HTTPRoute(pathPrefix: pathPrefix, customHeaders: customHeaders) { exchange in
            Task { exchange.respond(await answer(exchange.request)) }
        }
    }

    /// Whether `path` is this route's: the prefix itself or below it.
    func matches(_ path: String) -> Bool {
        guard path.hasPrefix(pathPrefix) else { return false }
        return path.utf8.count == pathPrefix.utf8.count || path.dropFirst(pathPrefix.count).first == "/"
    }
}

/// One request being answered. Sendable: any thread may answer it; the transport writes on its own thread.
public struct HTTPExchange: Sendable {
    public let request: HTTPRequest
    let core: ServerCore

    public var id: ConnectionID { request.id }

    /// Answers with a whole response. False when the exchange is gone (the client left) or already answered.
    @discardableResult
    public func respond(_ response: HTTPResponse) -> Bool {
        core.respond(request.id, with: .response(response))
    }

    /// Answers with a head and no length: the body follows as ``send(_:)`` calls, each written in order, under
    /// the same outbound limits as a WebSocket connection (`outboundQueueBytesMax`, `outboundQueueMessagesMax`;
    /// past them the connection is cut). The stream ends with ``finish()`` or when the client leaves. False when
    /// the exchange is gone or already answered.
    @discardableResult
    public func startStream(_ head: HTTPResponseHead) -> Bool {
        core.respond(request.id, with: .stream(head))
    }

    /// Queues bytes of a started stream (the same as ``WebSocketServer/send(_:to:)`` with this id).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        core.send(OutboundMessage(bytes: bytes, kind: .text), to: request.id)
    }

    /// Ends a started stream once what is queued is written (the connection then closes).
    public func finish() {
        core.close(request.id, code: TransportCloseCode.normal, reason: "stream finished")
    }
}
