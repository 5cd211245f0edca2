import BankCore
import BankWire
import WebSocketTransport

/// The HTTP side of the protocol's answers, in one place: the status of every error code, the headers that go
/// with some of them, and the few refusals of a request's HTTP shape that come before any op runs.
/// docs/protocol.md prints the table (`HTTPAPITests` compares).
enum HTTPStatus {
    static let ok = 200

    /// The status of an answer that failed with `code`. Exhaustive: a new error code needs a status here.
    static func of(_ code: ErrorCode) -> Int {
        switch code {
        case .badRequest, .invalidAmount: 400
        case .unauthorized: 401
        case .forbidden, .otpInvalid: 403
        case .notFound: 404
        case .conflict, .resyncRequired: 409
        case .otpExpired: 410
        case .tooLarge: 413
        case .insufficientFunds, .sameAccount: 422
        case .accountLocked: 423
        case .otpRequired: 428
        case .rateLimited, .tooManyAttempts: 429
        case .internalError: 500
        case .unavailable: 503
        }
    }

    /// Refusals of the request's shape, answered with a `bad_request` body and their own status.
    enum Refusal: Sendable, Equatable {
        /// The path exists but not for this method (`Allow` names the one that does).
        case methodNotAllowed(allowed: HTTPMethod)
        /// A body that is not `application/json`.
        case unsupportedMediaType

        var status: Int {
            switch self {
            case .methodNotAllowed: 405
            case .unsupportedMediaType: 415
            }
        }
    }

    /// `{"ok":true,"result":...}`: the WebSocket reply without its `id` (an HTTP response answers one request).
    static func success(_ result: JSONValue) -> HTTPResponse {
        HTTPResponse(status: ok, headers: [cacheControl], body: JSONWriter.write(.object(["ok": true, "result": result])))
    }

    /// `{"ok":false,"error":{...}}` with the code's status; `Retry-After` on 429, `WWW-Authenticate` on 401.
    static func failure(_ error: BankError, status: Int? = nil, headers: [(name: String, value: String)] = [])
        -> HTTPResponse {
        var extra = [cacheControl] + headers
        if let seconds = error.retryAfterSeconds { extra.append(("Retry-After", String(seconds))) }
        if error.code == .unauthorized { extra.append(("WWW-Authenticate", #"Bearer realm="bankhub""#)) }
        let body = JSONWriter.write(.object(["ok": false, "error": Reply.errorObject(error)]))
        return HTTPResponse(status: status ?? of(error.code), headers: extra, body: body)
    }

    static func refusal(_ refusal: Refusal, _ message: String) -> HTTPResponse {
        var headers: [(name: String, value: String)] = []
        if case .methodNotAllowed(let allowed) = refusal { headers.append(("Allow", allowed.rawValue)) }
        return failure(.badRequest(message), status: refusal.status, headers: headers)
    }

    /// Answers are about one caller's money and sessions: no cache may keep them.
    static let cacheControl = (name: "Cache-Control", value: "no-store")
}
