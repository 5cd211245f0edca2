import BankCore

/// Why sessions were revoked, as stored in `session_revocations.reason` (the hub's `RevocationReason` names).
public enum SessionRevocationReason: String, Sendable, CaseIterable {
    /// `logout` of one token.
    case logout
    /// A password change or reset: every session of the user but the one that changed it.
    case passwordChanged = "password_changed"
    /// The user was locked (by an admin or the lockout): every session of the user.
    case locked
    /// The user's role changed: the sessions stay, with the new role; streams it may not follow end.
    case roleChanged = "role_changed"
}

/// One row of `session_revocations`: what a hub ended, for the other hubs on the same database.
public struct SessionRevocation: Sendable, Equatable {
    public let id: Int64
    public let user: UserID
    /// The one session revoked (`logout`); nil when the revocation is about all of the user's sessions.
    public let tokenHash: [UInt8]?
    public let reason: SessionRevocationReason
    public let at: Timestamp

    public init(id: Int64, user: UserID, tokenHash: [UInt8]?, reason: SessionRevocationReason, at: Timestamp) {
        self.id = id
        self.user = user
        self.tokenHash = tokenHash
        self.reason = reason
        self.at = at
    }
}

/// The log of session revocations, written in the commit of the change that revokes (logout, password change,
/// lock, role change) so that every hub on the database can end the live sessions it holds (see the hub's
/// `RevocationFeed`). Ids increase in commit order per writer; a reader asks for those after the last it saw.
/// Rows older than `retentionMilliseconds` are deleted by the next append: a hub that lost the database for
/// longer has no live sessions left to end (it holds none across a restart either).
public enum SessionRevocationRecords {
    /// How long a row is kept: a day, longer than any hub's poll falls behind while it still serves.
    public static let retentionMilliseconds: Int64 = 86_400_000

    /// Records a revocation of `user`'s sessions (one token's, or all of them) in the caller's commit.
    public static func append(_ db: any SQLDatabase, user: UserID, tokenHash: [UInt8]?,
                              reason: SessionRevocationReason, at: Timestamp) throws {
        try db.prepare("DELETE FROM session_revocations WHERE created_at < ?")
            .run(at.milliseconds - retentionMilliseconds)
        try db.prepare("""
            INSERT INTO session_revocations(user_id, token_hash, reason, created_at) VALUES (?, ?, ?, ?)
            """).run(user.rawValue, tokenHash, reason.rawValue, at.milliseconds)
    }

    /// The highest id stored, 0 when none: where a hub starts following.
    public static func lastID(_ db: any SQLDatabase) throws -> Int64 {
        try db.prepare("SELECT COALESCE(MAX(id), 0) FROM session_revocations").queryOne { $0.int64(0) } ?? 0
    }

    /// Revocations with id above `after`, oldest first, at most `limit` (an index range on the primary key).
    public static func after(_ db: any SQLDatabase, _ after: Int64, limit: Int) throws -> [SessionRevocation] {
        try db.prepare("""
            SELECT id, user_id, token_hash, reason, created_at FROM session_revocations
            WHERE id > ? ORDER BY id LIMIT ?
            """).query(after, limit) { row in
            SessionRevocation(id: row.int64(0), user: UserID(row.int64(1)),
                              tokenHash: row.isNull(2) ? nil : row.blob(2),
                              reason: SessionRevocationReason(rawValue: row.string(3)) ?? .logout,
                              at: Timestamp(milliseconds: row.int64(4)))
        }
    }

    /// The token hashes of `user`'s sessions that are neither revoked nor expired at `now`.
    public static func validTokenHashes(_ db: any SQLDatabase, user: UserID, now: Timestamp) throws -> Set<[UInt8]> {
        Set(try db.prepare("""
            SELECT token_hash FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
            """).query(user.rawValue, now.milliseconds) { $0.blob(0) })
    }
}
