import BankCore
import BankStorage
import BankWire

/// How service requests and the staff reads look on the wire (docs/protocol.md, "Service requests" and
/// "Staff reads"). Objects that extend a base object (a user, a transaction) keep the base's members first.
extension WireObjects {
    /// `{id, user, username, kind, note, account, status, created_at, resolved_at, resolved_by, reason}`.
    static func serviceRequest(_ request: ServiceRequestRecord) -> JSONValue {
        ["id": id(request.id), "user": id(request.user), "username": .string(request.username),
         "kind": .string(request.kind.rawValue), "note": .string(request.note),
         "account": request.account.map(id) ?? .null, "status": .string(request.status.rawValue),
         "created_at": .string(request.createdAt.rfc3339), "resolved_at": request.resolvedAt.map { .string($0.rfc3339) } ?? .null,
         "resolved_by": request.resolvedBy.map(id) ?? .null, "reason": optional(request.reason)]
    }

    /// A user object plus `accounts`.
    static func customer(_ customer: CustomerRecord) -> JSONValue {
        extending(user(customer.user), with: "accounts", .array(customer.accounts.map(account)))
    }

    /// A user object plus `last_login` (null when the user never logged in).
    static func userOverview(_ overview: UserOverview) -> JSONValue {
        extending(user(overview.user), with: "last_login", overview.lastLogin.map { .string($0.rfc3339) } ?? .null)
    }

    /// A transaction object plus `user`, the user who made it.
    static func journalEntry(_ record: TransactionRecord) -> JSONValue {
        let base = transaction(id: record.id, command: record.command, note: record.note, at: record.at)
        return extending(base, with: "user", id(record.user))
    }

    /// `{id, actor, actor_username, action, target, detail, at}`.
    static func auditEntry(_ entry: AuditEntry) -> JSONValue {
        ["id": id(entry.id), "actor": id(entry.actor), "actor_username": .string(entry.actorUsername),
         "action": .string(entry.action), "target": .string(entry.target), "detail": optional(entry.detail),
         "at": .string(entry.at.rfc3339)]
    }

    /// A page of `items` under `key`, with `next` (the cursor to pass as `before`) when `rows` held one more
    /// row than `limit`, which is how every paged read asks.
    static func page<Row>(_ key: String, rows: [Row], limit: Int, cursor: (Row) -> Int64,
                          encode: (Row) -> JSONValue) -> JSONValue {
        precondition(limit > 0, "a page holds at least one row")
        let shown = rows.prefix(limit)
        var result: JSONObject = [key: .array(shown.map(encode))]
        if rows.count > limit, let last = shown.last {
            result.append(key: "next", value: .string(String(cursor(last))))
        }
        return .object(result)
    }

    private static func extending(_ base: JSONValue, with key: String, _ value: JSONValue) -> JSONValue {
        guard var object = base.objectValue else { preconditionFailure("wire objects are JSON objects") }
        object.append(key: key, value: value)
        return .object(object)
    }
}
