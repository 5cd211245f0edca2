import BankCore

/// One line of the audit log: who (a staff user) did what to which target, when.
public struct AuditEntry: Sendable, Equatable {
    public let id: Int64
    public let actor: UserID
    /// The actor's username, for people reading the log.
    public let actorUsername: String
    /// The op or effect, such as `request_approve` or `set_role`.
    public let action: String
    /// What was acted on, as `kind:ID` (`request:12`, `user:3`, `account:1001`).
    public let target: String
    public let detail: String?
    public let at: Timestamp

    public init(id: Int64, actor: UserID, actorUsername: String, action: String, target: String, detail: String?,
                at: Timestamp) {
        self.id = id
        self.actor = actor
        self.actorUsername = actorUsername
        self.action = action
        self.target = target
        self.detail = detail
        self.at = at
    }
}

/// The append-only audit log of staff actions. SQLite triggers refuse UPDATE and DELETE on it, so an entry,
/// once committed, stays as written. Append it inside the same commit as the action it records.
public enum AuditRecords {
    /// The longest `action` and `target` accepted, in characters; they are names, not prose.
    public static let nameLengthMax = 64
    /// The longest `detail` stored, in characters; longer details are cut (never refused: the action happened).
    public static let detailLengthMax = 1_000

    /// Appends one entry.
    public static func append(_ db: any SQLDatabase, actor: UserID, action: String, target: String, detail: String?,
                              at: Timestamp) throws {
        precondition(!action.isEmpty && action.count <= nameLengthMax, "an audit action is a short name")
        precondition(!target.isEmpty && target.count <= nameLengthMax, "an audit target is a short name")
        let cut = detail.map { String($0.prefix(detailLengthMax)) }
        try db.prepare("INSERT INTO audit_log(actor_id, action, target, detail, created_at) VALUES (?, ?, ?, ?, ?)")
            .run(actor.rawValue, action, target, cut, at.milliseconds)
        assert(db.changes == 1, "an append adds one entry")
    }

    /// Entries newest first, strictly older than the entry id `before`; at most `limit`.
    public static func page(_ db: any SQLDatabase, limit: Int, before: Int64?) throws -> [AuditEntry] {
        precondition(limit > 0, "a page holds at least one entry")
        return try db.prepare("""
            SELECT a.id, a.actor_id, u.username, a.action, a.target, a.detail, a.created_at
            FROM audit_log a JOIN users u ON u.id = a.actor_id
            WHERE a.id < ? ORDER BY a.id DESC LIMIT ?
            """).query(before ?? Int64.max, limit) { row in
            AuditEntry(id: row.int64(0), actor: UserID(row.int64(1)), actorUsername: row.string(2),
                       action: row.string(3), target: row.string(4), detail: row.optionalString(5),
                       at: Timestamp(milliseconds: row.int64(6)))
        }
    }
}
