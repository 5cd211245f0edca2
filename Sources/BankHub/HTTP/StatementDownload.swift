import BankCore
import BankStorage
import WebSocketTransport

/// `GET /statements/ACCOUNT/YYYY-MM.csv` with `Authorization: Bearer TOKEN`: a month of one account as RFC 4180
/// CSV (`StatementCSV`), for a download button or a script. The same rules as the `statement` op: the account
/// must be readable by the caller (its owner, or an admin; anyone else gets 404, as for `history`), the month a
/// real one not after the current. 401 without a valid token, 400 for a malformed path or month, 413 past the
/// CSV's entry limit, 429 past the caller's rate limits (the same buckets as every request).
struct StatementDownload: Sendable {
    let api: HTTPAPI
    let hub: Hub

    static let pathPrefix = "/statements"

    var route: HTTPRoute {
        HTTPRoute.responding(to: Self.pathPrefix) { request in await answer(request) }
    }

    func answer(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.method == .get else {
            return HTTPStatus.refusal(.methodNotAllowed(allowed: .get), "statements are read with GET")
        }
        guard let (account, month) = Self.parse(path: request.path) else {
            return HTTPStatus.failure(.badRequest("use /statements/ACCOUNT/YYYY-MM.csv, e.g. /statements/1001/2026-11.csv"))
        }
        let session: Session
        switch await api.requireSession(request) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }
        let security = hub.security
        if let (wait, bucket) = security.admit(op: .statement, connection: request.id, user: session.user.id,
                                               address: request.peerAddress, now: Clock.nowMilliseconds()) {
            return HTTPStatus.failure(BankError(.rateLimited, "too many requests (\(bucket) limit); retry in \(wait) s",
                                                retryAfterSeconds: wait))
        }
        do {
            let csv = try await hub.statementCSV(account: account, month: month, for: session.user)
            let filename = "statement-\(account)-\(month).csv"
            return HTTPResponse(status: HTTPStatus.ok, contentType: "text/csv; charset=utf-8",
                                headers: [HTTPStatus.cacheControl,
                                          ("Content-Disposition", "attachment; filename=\"\(filename)\"")],
                                body: Array(csv.utf8))
        } catch {
            return HTTPStatus.failure(error)
        }
    }

    /// `/statements/1001/2026-11.csv` → (1001, "2026-11"); the month's form is checked by the statement rules.
    static func parse(path: String) -> (AccountID, String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, "/" + parts[1] == pathPrefix, parts[3].hasSuffix(".csv"),
              let id = Int64(parts[2]), id > 0, String(id) == parts[2] else { return nil }
        return (AccountID(id), String(parts[3].dropLast(4)))
    }
}
