import BankCore
import BankWire
import WebSocketTransport

/// The `/api/v1` route: `POST /api/v1/OP` runs an op, `GET /api/v1/streams/STREAM` opens an event stream.
///
/// Each request becomes a short-lived hub connection carrying the session of its bearer token (one SHA-256
/// and one indexed read, never a password hash) and goes through `Hub.handle` like a WebSocket frame, so
/// permissions, rate limits (per user and per address; the per-connection bucket is per request here),
/// idempotency and the dispatcher are the same code. The answer is the reply object without its `id`, with
/// the status `HTTPStatus` gives its error code. An event stream is a `subscribe` whose events the fan-out
/// renders as server-sent-event records.
struct HTTPAPI: Sendable {
    let hub: Hub
    let auth: AuthService
    /// `retry:` sent at the start of each stream: how long a browser's `EventSource` waits to reconnect.
    let streamRetryMilliseconds: Int

    var route: HTTPRoute {
        HTTPRoute(pathPrefix: APIRequest.prefix, customHeaders: APIRequest.customHeaders, handle: { exchange in
            Task { await serve(exchange) }
        }, closed: { [hub] id in
            Task { await hub.closed(id) }
        })
    }

    func serve(_ exchange: HTTPExchange) async {
        switch APIRequest.interpret(exchange.request) {
        case .failure(let refusal):
            exchange.respond(refusal.response)
        case .success(.operation(let op, let args, let token)):
            switch await session(for: token) {
            case .success(let session): await call(op, args, session: session, exchange)
            case .failure(let error): exchange.respond(HTTPStatus.failure(error))
            }
        case .success(.eventStream(let stream, let since, let token)):
            switch await session(for: token) {
            case .success(let session): await openStream(stream, since: since, session: session, exchange)
            case .failure(let error): exchange.respond(HTTPStatus.failure(error))
            }
        }
    }

    /// The session a bearer token names; nil without a token (the request is anonymous).
    private func session(for token: String?) async -> Result<Session?, BankError> {
        guard let token else { return .success(nil) }
        do {
            return .success(try await auth.authenticate(token: token))
        } catch let error as BankError {
            return .failure(error)
        } catch {
            return .failure(BankError(.internalError, "could not read the session"))
        }
    }

    private func call(_ op: Op, _ args: Arguments, session: Session?, _ exchange: HTTPExchange) async {
        let id = exchange.id
        await hub.openedHTTP(id, Self.info(exchange.request), kind: .httpRequest, session: session)
        let responder = hub.responder(for: id, op: op) { [hub] result in
            switch result {
            case .success(let value): exchange.respond(HTTPStatus.success(value))
            case .failure(let error): exchange.respond(HTTPStatus.failure(error))
            }
            // The request's connection ends with its answer (also when the client left before it).
            Task { await hub.closed(id) }
        }
        await hub.handle(id, Request(id: .null, op: op, args: args), responder: responder)
    }

    private func openStream(_ stream: String, since: Int64?, session: Session?, _ exchange: HTTPExchange) async {
        let id = exchange.id
        await hub.openedHTTP(id, Self.info(exchange.request), kind: .eventStream, session: session)
        var args: JSONObject = ["stream": .string(stream)]
        if let since { args["since"] = .integer(since) }
        let retry = streamRetryMilliseconds
        // `subscribe` answers before it sends the replayed events, so the head and preamble come first.
        let responder = hub.responder(for: id, op: .subscribe) { [hub] result in
            switch result {
            case .success(let value):
                let head = HTTPResponseHead(status: HTTPStatus.ok, contentType: "text/event-stream",
                                            headers: [HTTPStatus.cacheControl, ("X-Accel-Buffering", "no")])
                if exchange.startStream(head) {
                    exchange.send(ServerSentEvent.preamble(stream: stream, head: value["head"]?.int64Value ?? 0,
                                                           retryMilliseconds: retry))
                } else {
                    Task { await hub.closed(id) }
                }
            case .failure(let error):
                exchange.respond(HTTPStatus.failure(error))
                Task { await hub.closed(id) }
            }
        }
        await hub.handle(id, Request(id: .null, op: .subscribe, args: Arguments(args)), responder: responder)
    }

    /// For other routes (a statement download, say): the session of the request's bearer token, or the
    /// answer that refuses it (401 without or with a bad token, 423 for a locked user).
    func requireSession(_ request: HTTPRequest) async -> Result<Session, APIRefusal> {
        let token: String?
        switch APIRequest.bearerToken(request) {
        case .success(let found): token = found
        case .failure(let refusal): return .failure(refusal)
        }
        switch await session(for: token) {
        case .success(let session?): return .success(session)
        case .success(nil): return .failure(APIRefusal(response: HTTPStatus.failure(BankError(
            .unauthorized, "send Authorization: Bearer TOKEN (a token from login)"))))
        case .failure(let error): return .failure(APIRefusal(response: HTTPStatus.failure(error)))
        }
    }

    static func info(_ request: HTTPRequest) -> ConnectionInfo {
        ConnectionInfo(peerAddress: request.peerAddress, userAgent: request.header("user-agent"),
                       origin: request.header("origin"))
    }
}
