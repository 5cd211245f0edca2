import BankCore

/// A user's TOTP second factor: the secret, whether it is confirmed, and the last time step used (a code is
/// accepted once).
public struct SecondFactorRecord: Sendable, Equatable {
    public let secret: [UInt8]
    public let enabled: Bool
    public let lastStep: Int64?
}

public enum SecondFactorRecords {
    public static func secondFactor(_ db: any SQLDatabase, user: UserID) throws -> SecondFactorRecord? {
        try db.prepare("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = ? AND totp_secret IS NOT NULL")
            .queryOne(user.rawValue) { row in
                SecondFactorRecord(secret: row.blob(0), enabled: row.int64(1) == 1, lastStep: row.optionalInt64(2))
            }
    }

    /// Stores a secret whose first code (of time step `step`) was just checked, active at once, replacing any
    /// previous one in the same statement: the old factor stays in force until this commit.
    public static func activate(_ db: any SQLDatabase, user: UserID, secret: [UInt8], step: Int64) throws {
        try db.prepare("UPDATE users SET totp_secret = ?, totp_enabled = 1, totp_last_step = ? WHERE id = ?")
            .run(secret, step, user.rawValue)
    }

    /// Records that the code of `step` was used (and enables the factor); false when that step or a later one
    /// was already used, so a code is never accepted twice.
    public static func use(_ db: any SQLDatabase, user: UserID, step: Int64) throws -> Bool {
        try db.prepare("""
            UPDATE users SET totp_enabled = 1, totp_last_step = ?
            WHERE id = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)
            """).run(step, user.rawValue, step)
        return db.changes == 1
    }
}
