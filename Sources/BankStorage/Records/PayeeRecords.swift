import BankCore

/// A saved payee: another customer's account the user sends money to, under a nickname of their own.
public struct PayeeRecord: Sendable, Equatable {
    public let id: Int64
    public let user: UserID
    public let account: AccountID
    public let nickname: String
    public let createdAt: Timestamp

    public init(id: Int64, user: UserID, account: AccountID, nickname: String, createdAt: Timestamp) {
        precondition(id > 0, "payee ids are positive")
        self.id = id
        self.user = user
        self.account = account
        self.nickname = nickname
        self.createdAt = createdAt
    }

    public func renamed(_ nickname: String) -> PayeeRecord {
        PayeeRecord(id: id, user: user, account: account, nickname: nickname, createdAt: createdAt)
    }
}

/// Each user's payees, one row per (user, account). Not ledger data: a payee is changed and removed in place.
public enum PayeeRecords {
    /// `user`'s payees, oldest first (at most `PayeeRules.payeesPerUserMax` exist).
    public static func payees(_ db: any SQLDatabase, of user: UserID) throws -> [PayeeRecord] {
        try db.prepare(columns + " WHERE user_id = ? ORDER BY id").query(user.rawValue, row: payee)
    }

    /// `user`'s payee `id`, or nil (another user's payee is nil too).
    public static func payee(_ db: any SQLDatabase, _ id: Int64, of user: UserID) throws -> PayeeRecord? {
        try db.prepare(columns + " WHERE id = ? AND user_id = ?").queryOne(id, user.rawValue, row: payee)
    }

    /// The highest payee id stored, 0 when none.
    public static func lastID(_ db: any SQLDatabase) throws -> Int64 {
        try db.prepare("SELECT COALESCE(MAX(id), 0) FROM payees").queryOne { $0.int64(0) } ?? 0
    }

    /// Inserts a payee whose id the hub chose (so the event in the same commit can name it).
    public static func insert(_ db: any SQLDatabase, _ payee: PayeeRecord) throws {
        try db.prepare("INSERT INTO payees(id, user_id, account_id, nickname, created_at) VALUES (?, ?, ?, ?, ?)")
            .run(payee.id, payee.user.rawValue, payee.account.rawValue, payee.nickname, payee.createdAt.milliseconds)
    }

    /// Why `insert(_:_:payeesMax:)` wrote nothing.
    public enum Refused: Sendable, Equatable {
        /// The user already has this account as payee `id`.
        case duplicate(id: Int64)
        /// The user already has `payeesMax` payees.
        case full
    }

    /// Inserts `payee` unless its user already has its account as a payee or already has `payeesMax` payees;
    /// then returns why and writes nothing. The user's row is locked first (`UserRecords.lockForCounting`), so
    /// two writers adding payees for one user (two hubs on one database) take turns and each checks what the
    /// other committed: neither the limit nor the one-payee-per-account rule can be passed, and the
    /// `UNIQUE (user_id, account_id)` of the table is never what refuses (a failed event job stops its hub).
    public static func insert(_ db: any SQLDatabase, _ payee: PayeeRecord, payeesMax: Int) throws -> Refused? {
        guard try UserRecords.lockForCounting(db, user: payee.user) else { return .full }
        if let existing = try db.prepare("SELECT id FROM payees WHERE user_id = ? AND account_id = ?")
            .queryOne(payee.user.rawValue, payee.account.rawValue, row: { $0.int64(0) }) {
            return .duplicate(id: existing)
        }
        let count = try db.prepare("SELECT COUNT(*) FROM payees WHERE user_id = ?")
            .queryOne(payee.user.rawValue) { $0.int64(0) } ?? 0
        guard count < payeesMax else { return .full }
        try insert(db, payee)
        return nil
    }

    /// Renames the user's payee; false when it is no longer there (removed since it was read, on another hub).
    public static func rename(_ db: any SQLDatabase, _ payee: PayeeRecord) throws -> Bool {
        try db.prepare("UPDATE payees SET nickname = ? WHERE id = ? AND user_id = ?")
            .run(payee.nickname, payee.id, payee.user.rawValue)
        return db.changes == 1
    }

    /// Removes the user's payee; false when it is no longer there (removed since it was read, on another hub).
    public static func delete(_ db: any SQLDatabase, _ payee: PayeeRecord) throws -> Bool {
        try db.prepare("DELETE FROM payees WHERE id = ? AND user_id = ?").run(payee.id, payee.user.rawValue)
        return db.changes == 1
    }

    private static let columns = "SELECT id, user_id, account_id, nickname, created_at FROM payees"

    private static func payee(_ row: any SQLRow) -> PayeeRecord {
        PayeeRecord(id: row.int64(0), user: UserID(row.int64(1)), account: AccountID(row.int64(2)),
                    nickname: row.string(3), createdAt: Timestamp(milliseconds: row.int64(4)))
    }
}
