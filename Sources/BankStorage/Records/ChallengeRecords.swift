import BankCore

/// A one-time-code challenge as stored: what it holds back (`payload`, JSON) and how it may still be used.
public struct ChallengeRecord: Sendable, Equatable {
    public let id: String
    public let user: UserID
    public let purpose: String
    public let payload: String
    public let codeHash: [UInt8]
    public let attempts: Int
    public let status: String
    public let expiresAt: Timestamp

    public init(id: String, user: UserID, purpose: String, payload: String, codeHash: [UInt8], attempts: Int,
                status: String, expiresAt: Timestamp) {
        self.id = id
        self.user = user
        self.purpose = purpose
        self.payload = payload
        self.codeHash = codeHash
        self.attempts = attempts
        self.status = status
        self.expiresAt = expiresAt
    }
}

/// OTP challenges: the code itself is never stored, only a keyed hash (HMAC) of it bound to the challenge id.
public enum ChallengeRecords {
    /// Kills the pending challenges of `user` for `purpose`: a new one replaces them, so at most one code of each
    /// purpose can be tried at a time.
    public static func retirePending(_ db: any SQLDatabase, user: UserID, purpose: String) throws {
        try db.prepare("UPDATE otp_challenges SET status = 'dead' WHERE user_id = ? AND purpose = ? AND status = 'pending'")
            .run(user.rawValue, purpose)
    }

    public static func insert(_ db: any SQLDatabase, _ challenge: ChallengeRecord, at: Timestamp) throws {
        try db.prepare("""
            INSERT INTO otp_challenges(id, user_id, purpose, payload, code_hash, attempts, status, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, 0, 'pending', ?, ?)
            """).run(challenge.id, challenge.user.rawValue, challenge.purpose, challenge.payload, challenge.codeHash,
                     at.milliseconds, challenge.expiresAt.milliseconds)
    }

    public static func challenge(_ db: any SQLDatabase, id: String) throws -> ChallengeRecord? {
        try db.prepare(columns + " WHERE id = ?").queryOne(id, row: record)
    }

    /// The newest pending challenge of `user` for `purpose` (password resets are found by user, not id).
    public static func latestPending(_ db: any SQLDatabase, user: UserID, purpose: String) throws -> ChallengeRecord? {
        try db.prepare(columns + " WHERE user_id = ? AND purpose = ? AND status = 'pending' ORDER BY created_at DESC LIMIT 1")
            .queryOne(user.rawValue, purpose, row: record)
    }

    /// Counts a wrong code; the challenge dies at `attemptsMax`. Returns the attempts so far.
    public static func recordFailure(_ db: any SQLDatabase, id: String, attemptsMax: Int) throws -> Int {
        try db.prepare("""
            UPDATE otp_challenges SET attempts = attempts + 1,
                status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE status END
            WHERE id = ? AND status = 'pending'
            """).run(attemptsMax, id)
        return try db.prepare("SELECT attempts FROM otp_challenges WHERE id = ?").queryOne(id) { Int($0.int64(0)) } ?? 0
    }

    /// Marks a pending challenge used; false when it was not pending any more (it can be used once).
    public static func markUsed(_ db: any SQLDatabase, id: String) throws -> Bool {
        try db.prepare("UPDATE otp_challenges SET status = 'used' WHERE id = ? AND status = 'pending'").run(id)
        return db.changes == 1
    }

    public static func markDead(_ db: any SQLDatabase, id: String) throws {
        try db.prepare("UPDATE otp_challenges SET status = 'dead' WHERE id = ? AND status = 'pending'").run(id)
    }

    private static let columns = """
        SELECT id, user_id, purpose, payload, code_hash, attempts, status, expires_at FROM otp_challenges
        """

    private static func record(_ row: any SQLRow) -> ChallengeRecord {
        ChallengeRecord(id: row.string(0), user: UserID(row.int64(1)), purpose: row.string(2), payload: row.string(3),
                        codeHash: row.blob(4), attempts: Int(row.int64(5)), status: row.string(6),
                        expiresAt: Timestamp(milliseconds: row.int64(7)))
    }
}
