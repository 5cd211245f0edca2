import BankCore

/// One login attempt, as shown by `login_history`.
public struct LoginAttempt: Sendable, Equatable {
    public let user: UserID?
    public let username: String
    public let ip: String
    public let userAgent: String?
    public let outcome: String
    public let at: Timestamp

    public init(user: UserID?, username: String, ip: String, userAgent: String?, outcome: String, at: Timestamp) {
        self.user = user
        self.username = username
        self.ip = ip
        self.userAgent = userAgent
        self.outcome = outcome
        self.at = at
    }
}

/// A security alert as stored.
public struct ThreatRecord: Sendable, Equatable {
    public let id: Int64
    public let kind: String
    public let severity: String
    public let user: UserID?
    public let ip: String?
    public let detail: String
    public let at: Timestamp
    public let ackedBy: UserID?
    public let ackedAt: Timestamp?
    /// Names for display, filled when read back (the event carries the user's name itself).
    public var username: String?
    public var ackedByUsername: String?

    public init(id: Int64, kind: String, severity: String, user: UserID?, ip: String?, detail: String, at: Timestamp,
                ackedBy: UserID? = nil, ackedAt: Timestamp? = nil) {
        self.id = id
        self.kind = kind
        self.severity = severity
        self.user = user
        self.ip = ip
        self.detail = detail
        self.at = at
        self.ackedBy = ackedBy
        self.ackedAt = ackedAt
    }
}

/// Login attempts, user locks and roles, and threats.
public enum SecurityRecords {
    public static func insertAttempt(_ db: any SQLDatabase, _ attempt: LoginAttempt) throws {
        try db.prepare("""
            INSERT INTO login_attempts(user_id, username, ip, user_agent, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """).run(attempt.user?.rawValue, attempt.username, attempt.ip, attempt.userAgent, attempt.outcome,
                     attempt.at.milliseconds)
    }

    public static func attempts(_ db: any SQLDatabase, user: UserID, limit: Int) throws -> [LoginAttempt] {
        try db.prepare("""
            SELECT user_id, username, ip, user_agent, outcome, created_at FROM login_attempts
            WHERE user_id = ? ORDER BY id DESC LIMIT ?
            """).query(user.rawValue, limit) { row in
            LoginAttempt(user: row.optionalInt64(0).map(UserID.init), username: row.string(1), ip: row.string(2),
                         userAgent: row.optionalString(3), outcome: row.string(4), at: Timestamp(milliseconds: row.int64(5)))
        }
    }

    /// Whether `user` logged in successfully before, and whether from `ip`.
    public static func priorLogins(_ db: any SQLDatabase, user: UserID, ip: String) throws -> (any: Bool, fromIP: Bool) {
        let row = try db.prepare("""
            SELECT EXISTS(SELECT 1 FROM login_attempts WHERE user_id = ?1 AND outcome = 'success'),
                   EXISTS(SELECT 1 FROM login_attempts WHERE user_id = ?1 AND outcome = 'success' AND ip = ?2)
            """).queryOne(user.rawValue, ip) { ($0.int64(0) == 1, $0.int64(1) == 1) }
        return row ?? (false, false)
    }

    /// Successful logins per user per calendar month (UTC) since `since`: newest month first, then most logins,
    /// then the lower user id (ties had no defined order before).
    public static func monthlyLogins(_ db: any SQLDatabase, since: Timestamp) throws -> [(month: String, user: UserID, username: String, logins: Int64)] {
        // Counted per UTC day in SQL (integer division means the same on both engines; SQLite's strftime has no
        // PostgreSQL twin) and folded into months here.
        struct MonthUser: Hashable { let month: String, user: Int64 }
        var counts: [MonthUser: (username: String, logins: Int64)] = [:]
        try db.prepare("""
            SELECT a.created_at / 86400000, a.user_id, u.username, COUNT(*)
            FROM login_attempts a JOIN users u ON u.id = a.user_id
            WHERE a.outcome = 'success' AND a.created_at >= ?
            GROUP BY a.created_at / 86400000, a.user_id, u.username
            """).query(since.milliseconds) { row in
            let month = CalendarMonth(containing: Timestamp(milliseconds: row.int64(0) * 86_400_000)).description
            let key = MonthUser(month: month, user: row.int64(1))
            counts[key] = (row.string(2), (counts[key]?.logins ?? 0) + row.int64(3))
        }
        return counts.map { key, value in (key.month, UserID(key.user), value.username, value.logins) }
            .sorted { ($0.month, $0.logins, $1.user.rawValue) > ($1.month, $1.logins, $0.user.rawValue) }
    }

    /// Locks a user until `until` (nil: until an admin unlocks).
    public static func lock(_ db: any SQLDatabase, user: UserID, until: Timestamp?, reason: String) throws {
        try db.prepare("UPDATE users SET status = 'locked', locked_until = ?, lock_reason = ? WHERE id = ?")
            .run(until?.milliseconds, reason, user.rawValue)
    }

    /// Unlocks a user; its stored failures (wrong passwords, wrong codes) before `at` are forgiven with it.
    public static func unlock(_ db: any SQLDatabase, user: UserID, at: Timestamp) throws {
        try db.prepare("""
            UPDATE users SET status = 'active', locked_until = NULL, lock_reason = NULL, failures_reset_at = ? WHERE id = ?
            """).run(at.milliseconds, user.rawValue)
        try db.prepare("DELETE FROM code_failures WHERE user_id = ?").run(user.rawValue)
    }

    /// `user`'s failed logins (`bad_password`) since `since`, not counting those before its last successful login
    /// or before an admin unlocked it: the lockout's count, the same on every hub of the database (the attempt
    /// being counted is committed first). Walks the (user_id, created_at) index.
    public static func loginFailures(_ db: any SQLDatabase, user: UserID, since: Timestamp) throws -> Int {
        Int(try db.prepare("""
            SELECT COUNT(*) FROM login_attempts a
            WHERE a.user_id = ?1 AND a.outcome = 'bad_password' AND a.created_at >= ?2
              AND a.created_at >= COALESCE((SELECT failures_reset_at FROM users WHERE id = ?1), 0)
              AND a.id > COALESCE((SELECT MAX(s.id) FROM login_attempts s
                                   WHERE s.user_id = ?1 AND s.outcome = 'success' AND s.created_at >= ?2), 0)
            """).queryOne(user.rawValue, since.milliseconds) { $0.int64(0) } ?? 0)
    }

    /// The times of the newest failed logins (wrong password or unknown user) from `ip` since `since`, at most
    /// `limit`: the per-address block's count over every hub of the database. Walks the (ip, created_at) index.
    public static func addressFailures(_ db: any SQLDatabase, ip: String, since: Timestamp,
                                       limit: Int) throws -> [Timestamp] {
        try db.prepare("""
            SELECT created_at FROM login_attempts
            WHERE ip = ? AND created_at >= ? AND outcome IN ('bad_password', 'unknown_user')
            ORDER BY created_at DESC LIMIT ?
            """).query(ip, since.milliseconds, limit) { Timestamp(milliseconds: $0.int64(0)) }
    }

    /// Reserves one code check of `user` (several hubs): under the user's row lock (`UserRecords.lockForCounting`)
    /// forgets its failures from before `since`, reads its newest ones since then (at most `limit`, newest
    /// first) and, when there are fewer than `limit`, stores a failure at `at` and returns its id. The check then
    /// runs counted as a wrong code: a wrong code leaves the row (it is the failure), a right one deletes it
    /// (`releaseCodeCheck`). So checks under way on every hub count toward the limit, and at most `limit` checks
    /// of one user can be under way or wrong in a window, however many hubs are asked at once. nil `reserved` when
    /// the limit is reached (nothing is written then).
    public static func reserveCodeCheck(_ db: any SQLDatabase, user: UserID, at: Timestamp, since: Timestamp,
                                        limit: Int) throws -> (reserved: Int64?, failures: [Timestamp]) {
        guard try UserRecords.lockForCounting(db, user: user) else { return (nil, []) }
        try db.prepare("DELETE FROM code_failures WHERE user_id = ? AND created_at < ?")
            .run(user.rawValue, since.milliseconds)
        let failures = try codeFailures(db, user: user, since: since, limit: limit)
        guard failures.count < limit else { return (nil, failures) }
        let id = try db.prepare("INSERT INTO code_failures(user_id, created_at) VALUES (?, ?) RETURNING id")
            .queryOne(user.rawValue, at.milliseconds) { $0.int64(0) }
        guard let id else { preconditionFailure("INSERT ... RETURNING returns the new row") }
        return (id, failures)
    }

    /// Deletes the failure a check reserved (`reserveCodeCheck`) once the code was right or was not checked.
    public static func releaseCodeCheck(_ db: any SQLDatabase, id: Int64) throws {
        try db.prepare("DELETE FROM code_failures WHERE id = ?").run(id)
    }

    /// The times of `user`'s newest wrong codes since `since`, newest first, at most `limit`: their number is the
    /// count toward the limit, and the last one tells when the count falls below it.
    public static func codeFailures(_ db: any SQLDatabase, user: UserID, since: Timestamp,
                                    limit: Int) throws -> [Timestamp] {
        try db.prepare("""
            SELECT created_at FROM code_failures WHERE user_id = ? AND created_at >= ? ORDER BY created_at DESC LIMIT ?
            """).query(user.rawValue, since.milliseconds, limit) { Timestamp(milliseconds: $0.int64(0)) }
    }

    public static func setRole(_ db: any SQLDatabase, user: UserID, role: Role) throws {
        try db.prepare("UPDATE users SET role = ? WHERE id = ?").run(role.rawValue, user.rawValue)
    }

    public static func setPassword(_ db: any SQLDatabase, user: UserID, hash: String) throws {
        try db.prepare("UPDATE users SET password_hash = ? WHERE id = ?").run(hash, user.rawValue)
    }

    /// Revokes every session of `user` except the one with `keeping` (if given).
    public static func revokeSessions(_ db: any SQLDatabase, user: UserID, keeping: [UInt8]?, at: Timestamp) throws {
        // IS DISTINCT FROM (SQLite's IS NOT, in the form both engines take): a NULL `keeping` keeps none.
        try db.prepare("""
            UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND token_hash IS DISTINCT FROM ?
            """).run(at.milliseconds, user.rawValue, keeping)
    }

    public static func lastThreatID(_ db: any SQLDatabase) throws -> Int64 {
        try db.prepare("SELECT COALESCE(MAX(id), 0) FROM threats").queryOne { $0.int64(0) } ?? 0
    }

    public static func insertThreat(_ db: any SQLDatabase, _ threat: ThreatRecord) throws {
        try db.prepare("INSERT INTO threats(id, kind, severity, user_id, ip, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .run(threat.id, threat.kind, threat.severity, threat.user?.rawValue, threat.ip, threat.detail,
                 threat.at.milliseconds)
    }

    /// Marks a threat acknowledged; returns it, or nil when there is no such threat.
    public static func ackThreat(_ db: any SQLDatabase, id: Int64, by user: UserID, at: Timestamp) throws -> ThreatRecord? {
        try db.prepare("UPDATE threats SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL")
            .run(user.rawValue, at.milliseconds, id)
        return try threats(db, before: id + 1, limit: 1).first { $0.id == id }
    }

    /// Threats newest first with id below `before`.
    public static func threats(_ db: any SQLDatabase, before: Int64?, limit: Int) throws -> [ThreatRecord] {
        try db.prepare("""
            SELECT t.id, t.kind, t.severity, t.user_id, t.ip, t.detail, t.created_at, t.acked_by, t.acked_at,
                   u.username, a.username
            FROM threats t LEFT JOIN users u ON u.id = t.user_id LEFT JOIN users a ON a.id = t.acked_by
            WHERE t.id < ? ORDER BY t.id DESC LIMIT ?
            """).query(before ?? Int64.max, limit) { row in
            var threat = ThreatRecord(id: row.int64(0), kind: row.string(1), severity: row.string(2),
                                      user: row.optionalInt64(3).map(UserID.init), ip: row.optionalString(4),
                                      detail: row.string(5), at: Timestamp(milliseconds: row.int64(6)),
                                      ackedBy: row.optionalInt64(7).map(UserID.init),
                                      ackedAt: row.optionalInt64(8).map(Timestamp.init(milliseconds:)))
            threat.username = row.optionalString(9)
            threat.ackedByUsername = row.optionalString(10)
            return threat
        }
    }
}
