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

    public static func rename(_ db: any SQLDatabase, _ payee: PayeeRecord) throws {
        try db.prepare("UPDATE payees SET nickname = ? WHERE id = ? AND user_id = ?")
            .run(payee.nickname, payee.id, payee.user.rawValue)
        precondition(db.changes == 1, "a payee checked to exist is renamed")
    }

    public static func delete(_ db: any SQLDatabase, _ payee: PayeeRecord) throws {
        try db.prepare("DELETE FROM payees WHERE id = ? AND user_id = ?").run(payee.id, payee.user.rawValue)
        precondition(db.changes == 1, "a payee checked to exist is removed")
    }

    private static let columns = "SELECT id, user_id, account_id, nickname, created_at FROM payees"

    private static func payee(_ row: any SQLRow) -> PayeeRecord {
        PayeeRecord(id: row.int64(0), user: UserID(row.int64(1)), account: AccountID(row.int64(2)),
                    nickname: row.string(3), createdAt: Timestamp(milliseconds: row.int64(4)))
    }
}
