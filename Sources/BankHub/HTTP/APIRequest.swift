import BankCore
import BankWire
import WebSocketTransport

/// What an HTTP request under `/api/v1` asks for, decided from the request alone (no hub, no database).
enum APICall: Sendable {
    /// `POST /api/v1/OP` with the op's args; `token` from `Authorization: Bearer TOKEN`.
    case operation(Op, Arguments, token: String?)
    /// `GET /api/v1/streams/STREAM`, resuming after `since` (from `Last-Event-ID` or `?since=`).
    case eventStream(stream: String, since: Int64?, token: String?)
}

/// An HTTP request the API refuses before any op runs, with the response that says why.
struct APIRefusal: Error {
    let response: HTTPResponse
}

/// Turns an HTTP request into an ``APICall``, or into the response that refuses it. Pure.
///
/// Order of checks: path and method (404, 405), the op (404 `not_found` for an unknown one, 400 for ops that
/// only work on a WebSocket), body size (413), `Authorization` shape (401), content type (415), JSON (400),
/// then `Idempotency-Key`. The hub checks everything else, as for a WebSocket frame.
enum APIRequest {
    static let prefix = "/api/v1"
    static let streamsPrefix = "/api/v1/streams/"
    /// Headers libwebsockets does not know that the API reads.
    static let customHeaders = ["idempotency-key", "last-event-id"]

    static func interpret(_ request: HTTPRequest) -> Result<APICall, APIRefusal> {
        if request.path.hasPrefix(streamsPrefix) { return eventStream(request) }
        let name = request.path.hasPrefix(prefix + "/") ? String(request.path.dropFirst(prefix.count + 1)) : ""
        guard !name.isEmpty, !name.contains("/") else {
            return refuse(HTTPStatus.failure(.notFound("no such API path; operations are POST \(prefix)/OP")))
        }
        guard request.method == .post else {
            return refuse(HTTPStatus.refusal(.methodNotAllowed(allowed: .post), "operations are called with POST"))
        }
        guard let op = Op(rawValue: name) else {
            return refuse(HTTPStatus.failure(BankError(.notFound, "unknown op \"\(name.prefix(40))\"", field: "op")))
        }
        guard !op.isSocketOnly else {
            return refuse(HTTPStatus.failure(.badRequest(
                "\(op.rawValue) works only on a WebSocket connection; over HTTP send the token with each request "
                    + "and read events from GET \(streamsPrefix)STREAM", field: "op")))
        }
        guard !request.bodyTooLarge else {
            return refuse(HTTPStatus.failure(BankError(.tooLarge, "request bodies are limited like messages")))
        }
        let token: String?
        switch bearerToken(request) {
        case .success(let found): token = found
        case .failure(let refusal): return .failure(refusal)
        }
        return arguments(request).map { .operation(op, $0, token: token) }
    }

    /// The args object: the JSON body (an empty body is `{}`), with `Idempotency-Key` as `idempotency_key`.
    private static func arguments(_ request: HTTPRequest) -> Result<Arguments, APIRefusal> {
        var object = JSONObject()
        if !request.body.isEmpty {
            guard request.mediaType == "application/json" else {
                return refuse(HTTPStatus.refusal(.unsupportedMediaType, "the body must be application/json"))
            }
            let value: JSONValue
            do {
                value = try JSONParser.parse(request.body)
            } catch {
                return refuse(HTTPStatus.failure(.badRequest("the body is not valid JSON: \(error.message)")))
            }
            guard let given = value.objectValue else {
                return refuse(HTTPStatus.failure(.badRequest("the body must be a JSON object of the op's args")))
            }
            object = given
        }
        if let key = request.header("idempotency-key") {
            if let inBody = object["idempotency_key"], inBody != .string(key) {
                return refuse(HTTPStatus.failure(.badRequest(
                    "the Idempotency-Key header and idempotency_key in the body differ", field: "idempotency_key")))
            }
            object["idempotency_key"] = .string(key)
        }
        return .success(Arguments(object))
    }

    private static func eventStream(_ request: HTTPRequest) -> Result<APICall, APIRefusal> {
        guard request.method == .get else {
            return refuse(HTTPStatus.refusal(.methodNotAllowed(allowed: .get), "event streams are read with GET"))
        }
        let stream = String(request.path.dropFirst(streamsPrefix.count))
        let resume = request.header("last-event-id") ?? request.queryValue("since")
        var since: Int64?
        if let resume {
            guard let value = Int64(resume), value >= 0 else {
                return refuse(HTTPStatus.failure(.badRequest(
                    "Last-Event-ID and since must be a seq: an integer of 0 or more", field: "since")))
            }
            since = value
        }
        return bearerToken(request).map { .eventStream(stream: stream, since: since, token: $0) }
    }

    private static func refuse<Value>(_ response: HTTPResponse) -> Result<Value, APIRefusal> {
        .failure(APIRefusal(response: response))
    }

    /// nil without `Authorization`; the token of `Bearer TOKEN`; 401 for anything else.
    static func bearerToken(_ request: HTTPRequest) -> Result<String?, APIRefusal> {
        guard let value = request.header("authorization") else { return .success(nil) }
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return refuse(HTTPStatus.failure(BankError(.unauthorized, "Authorization must be \"Bearer TOKEN\"")))
        }
        return .success(String(parts[1]))
    }
}
