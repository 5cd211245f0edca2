import BankCore

/// Deletes rows the hub no longer needs, a bounded batch per call so a purge never holds the write lock long
/// (the janitor calls these through the writer, one batch per job). Each returns the rows deleted; fewer than
/// `limit` means nothing is left to delete now.
///
/// Only these tables are ever purged. Postings, transactions, events and the audit log are append-only and
/// kept for ever (SQLite triggers refuse to delete them).
public enum RetentionRecords {
    /// Sessions whose token expired before `before` (revoked ones too: they are kept until their expiry).
    public static func purgeSessions(_ db: any SQLDatabase, expiredBefore before: Timestamp, limit: Int) throws -> Int {
        precondition(limit > 0, "a batch deletes at least one row")
        try db.prepare("""
            DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE expires_at < ? LIMIT ?)
            """).run(before.milliseconds, limit)
        return db.changes
    }

    /// One-time-code challenges created before `before`, whatever their status.
    public static func purgeChallenges(_ db: any SQLDatabase, createdBefore before: Timestamp, limit: Int) throws -> Int {
        precondition(limit > 0, "a batch deletes at least one row")
        try db.prepare("""
            DELETE FROM otp_challenges WHERE id IN (SELECT id FROM otp_challenges WHERE created_at < ? LIMIT ?)
            """).run(before.milliseconds, limit)
        return db.changes
    }

    /// Login attempts made before `before`, whatever their outcome.
    public static func purgeLoginAttempts(_ db: any SQLDatabase, madeBefore before: Timestamp, limit: Int) throws -> Int {
        precondition(limit > 0, "a batch deletes at least one row")
        try db.prepare("""
            DELETE FROM login_attempts WHERE id IN (SELECT id FROM login_attempts WHERE created_at < ? LIMIT ?)
            """).run(before.milliseconds, limit)
        return db.changes
    }

    /// Who has more failed login attempts (any outcome but `success`) than allowed: users with more than
    /// `perUserMax`, and nil (attempts on unknown usernames, together) past `unknownMax`. At most `limit` of them.
    /// Reads the `login_attempts_failures` index only; run it on a reader.
    public static func overFailureCap(_ db: any SQLDatabase, perUserMax: Int, unknownMax: Int,
                                      limit: Int) throws -> [UserID?] {
        try db.prepare("""
            SELECT user_id FROM login_attempts WHERE outcome <> 'success' GROUP BY user_id
            HAVING COUNT(*) > CASE WHEN user_id IS NULL THEN ?1 ELSE ?2 END LIMIT ?3
            """).query(unknownMax, perUserMax, limit) { row in row.optionalInt64(0).map(UserID.init) }
    }

    /// Deletes up to `limit` of `user`'s failed attempts (nil: those on unknown usernames) beyond the newest
    /// `keeping`. Successful logins are not touched (they age out with `purgeLoginAttempts`).
    public static func trimFailures(_ db: any SQLDatabase, of user: UserID?, keeping: Int, limit: Int) throws -> Int {
        precondition(limit > 0 && keeping >= 0, "a batch deletes at least one row, and keeps none or more")
        // IS NOT DISTINCT FROM matches NULL (attempts on unknown usernames) on both engines; SQLite (3.39+) reads it
        // as its IS and still searches login_attempts_failures.
        try db.prepare("""
            DELETE FROM login_attempts WHERE id IN (
                SELECT id FROM login_attempts WHERE user_id IS NOT DISTINCT FROM ? AND outcome <> 'success'
                ORDER BY id DESC LIMIT ? OFFSET ?)
            """).run(user?.rawValue, limit, keeping)
        return db.changes
    }
}
