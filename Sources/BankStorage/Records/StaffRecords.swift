import BankCore

/// A customer as staff see them: the user and their accounts.
public struct CustomerRecord: Sendable, Equatable {
    public let user: UserRecord
    public let accounts: [AccountRecord]
}

/// A user as admins see them: with the time of their last successful login.
public struct UserOverview: Sendable, Equatable {
    public let user: UserRecord
    public let lastLogin: Timestamp?
}

/// Which transactions staff ask for; every field narrows, nil means any.
public struct TransactionFilter: Sendable, Equatable {
    /// Transactions touching any account of this user (which includes every one the user made).
    public var user: UserID?
    /// Transactions touching this account.
    public var account: AccountID?
    public var kind: TransactionKind?
    /// Inclusive bounds on the transaction's time.
    public var from: Timestamp?
    public var to: Timestamp?

    public init(user: UserID? = nil, account: AccountID? = nil, kind: TransactionKind? = nil, from: Timestamp? = nil,
                to: Timestamp? = nil) {
        self.user = user
        self.account = account
        self.kind = kind
        self.from = from
        self.to = to
    }
}

/// Read-only queries for employees and admins: customer search, the transaction journal, the user list.
public enum StaffRecords {
    /// Customers whose username, full name, e-mail or phone contains `query` (any customer when nil), oldest
    /// first, each with their accounts; at most `limit`. ASCII case is ignored on both engines (`lower` on both
    /// sides keeps SQLite's LIKE meaning; PostgreSQL's LIKE alone would match case); PostgreSQL's `lower` also
    /// folds non-ASCII letters, SQLite's does not. The CAST types the parameter for PostgreSQL when it is NULL.
    public static func customers(_ db: any SQLDatabase, query: String?, limit: Int) throws -> [CustomerRecord] {
        precondition(limit > 0, "a page holds at least one customer")
        let users = try db.prepare(UserRecords.userColumns + """
             FROM users WHERE role = 'customer' AND (CAST(?1 AS TEXT) IS NULL
                 OR lower(username) LIKE lower(?1) ESCAPE '\\' OR lower(full_name) LIKE lower(?1) ESCAPE '\\'
                 OR lower(email) LIKE lower(?1) ESCAPE '\\' OR lower(phone) LIKE lower(?1) ESCAPE '\\')
            ORDER BY id LIMIT ?2
            """).query(query.map(containsPattern), limit, row: UserRecords.user)
        return try users.map { user in
            CustomerRecord(user: user, accounts: try LedgerRecords.accounts(db, ownedBy: user.id))
        }
    }

    /// Users of every role, newest first, strictly older than the user id `before`, matching `query` like
    /// `customers`; at most `limit`.
    public static func users(_ db: any SQLDatabase, query: String?, limit: Int,
                             before: Int64?) throws -> [UserOverview] {
        precondition(limit > 0, "a page holds at least one user")
        return try db.prepare(UserRecords.userColumns + """
            , (SELECT MAX(l.created_at) FROM login_attempts l WHERE l.user_id = users.id AND l.outcome = 'success')
            FROM users WHERE id < ?2 AND (CAST(?1 AS TEXT) IS NULL
                 OR lower(username) LIKE lower(?1) ESCAPE '\\' OR lower(full_name) LIKE lower(?1) ESCAPE '\\'
                 OR lower(email) LIKE lower(?1) ESCAPE '\\' OR lower(phone) LIKE lower(?1) ESCAPE '\\')
            ORDER BY id DESC LIMIT ?3
            """).query(query.map(containsPattern), before ?? Int64.max, limit) { row in
            UserOverview(user: UserRecords.user(row), lastLogin: row.optionalInt64(8).map(Timestamp.init(milliseconds:)))
        }
    }

    /// Transactions matching `filter`, newest first, with ids below `before`; at most `limit`.
    ///
    /// The statement is built from the filters present (at most 32 shapes, each prepared once per connection)
    /// so that each shape can use its index: postings by account for `user` and `account`, the id order otherwise.
    public static func transactions(_ db: any SQLDatabase, _ filter: TransactionFilter, limit: Int,
                                    before: Int64?) throws -> [TransactionRecord] {
        precondition(limit > 0, "a page holds at least one transaction")
        var conditions = ["t.id < ?"]
        var values: [any SQLBindable] = [before ?? Int64.max]
        if let user = filter.user {
            conditions.append("""
                t.id IN (SELECT p.txn_id FROM postings p WHERE p.account_id IN (SELECT id FROM accounts WHERE owner_id = ?))
                """)
            values.append(user.rawValue)
        }
        if let account = filter.account {
            conditions.append("t.id IN (SELECT txn_id FROM postings WHERE account_id = ?)")
            values.append(account.rawValue)
        }
        if let kind = filter.kind {
            conditions.append("t.kind = ?")
            values.append(kind.rawValue)
        }
        if let from = filter.from {
            conditions.append("t.created_at >= ?")
            values.append(from.milliseconds)
        }
        if let to = filter.to {
            conditions.append("t.created_at <= ?")
            values.append(to.milliseconds)
        }
        values.append(limit)
        let sql = """
            SELECT t.id, t.kind, t.user_id, t.amount, t.debit_account, t.credit_account, t.note, t.created_at
            FROM transactions t WHERE \(conditions.joined(separator: " AND ")) ORDER BY t.id DESC LIMIT ?
            """
        let rows = try db.prepare(sql).query(binding: values) { row in
            TransactionRecord(id: TransactionID(row.int64(0)), kind: TransactionKind(rawValue: row.string(1)) ?? .transfer,
                              user: UserID(row.int64(2)), amount: Money(cents: row.int64(3)),
                              debited: AccountID(row.int64(4)), credited: AccountID(row.int64(5)),
                              note: row.optionalString(6), at: Timestamp(milliseconds: row.int64(7)))
        }
        assert(zip(rows, rows.dropFirst()).allSatisfy { $0.id > $1.id }, "transactions come newest first")
        return rows
    }

    /// `%text%` for LIKE, with `%`, `_` and the escape character itself taken literally.
    static func containsPattern(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}
