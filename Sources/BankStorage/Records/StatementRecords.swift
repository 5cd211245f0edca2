import BankCore

/// An account's month in figures: the balance at its start and end, and what came in and went out.
/// `opening + credits - debits == closing` always.
public struct StatementTotals: Sendable, Equatable {
    public let opening: Money
    public let closing: Money
    /// Money in: the sum of the month's positive postings.
    public let credits: Money
    /// Money out, as a positive amount: the sum of the month's negative postings, negated.
    public let debits: Money
    /// Postings (transactions touching the account) in the month.
    public let count: Int
}

/// One page of an account's statement for a month: the month's totals and its entries oldest first, from
/// just after the cursor `after` (a posting id); `next` is set when more entries follow.
public struct StatementPage: Sendable {
    public let account: AccountID
    public let month: CalendarMonth
    public let totals: StatementTotals
    public let entries: [HistoryEntry]
    public let next: Int64?
}

/// What an admin's monthly report says about a month.
public struct MonthlyActivity: Sendable, Equatable {
    public struct Movement: Sendable, Equatable {
        public let count: Int
        public let total: Money
    }

    public let usersTotal: Int
    public let usersNew: Int
    public let accountsTotal: Int
    public let accountsNew: Int
    public let deposits: Movement
    public let withdrawals: Movement
    public let transfers: Movement
    /// Successful logins on each day of the month, the 1st first.
    public let loginsPerDay: [Int]
}

/// Statements read from the immutable postings, and the bookkeeping of the monthly e-mails.
///
/// A month is cut in ledger order: it holds the transactions from the first one stamped at or after the
/// month's start up to (not including) the first one stamped at or after its end. Cutting by transaction id
/// rather than by each posting's time makes consecutive months meet exactly (one month's `closing` is the
/// next one's `opening`) and lets every query seek the `postings_account (account_id, id)` index instead of
/// scanning an account's whole history.
public enum StatementRecords {
    /// The postings of `month`, as a range of posting ids.
    public static func bounds(_ db: any SQLDatabase, month: CalendarMonth) throws -> Range<Int64> {
        let first = try firstPosting(db, atOrAfter: month.start)
        let end = try firstPosting(db, atOrAfter: month.end)
        return first..<max(first, end)
    }

    /// The month's figures for `account` within `bounds` (from `bounds(_:month:)`).
    public static func totals(_ db: any SQLDatabase, account: AccountID, bounds: Range<Int64>) throws -> StatementTotals {
        let opening = try db.prepare("""
            SELECT balance_after FROM postings WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT 1
            """).queryOne(account.rawValue, bounds.lowerBound) { $0.int64(0) } ?? 0
        let (count, credits, debits) = try db.prepare("""
            SELECT COUNT(*), COALESCE(SUM(CASE WHEN amount > 0 THEN amount END), 0),
                   COALESCE(SUM(CASE WHEN amount < 0 THEN -amount END), 0)
            FROM postings WHERE account_id = ? AND id >= ? AND id < ?
            """).queryOne(account.rawValue, bounds.lowerBound, bounds.upperBound) { row in
            (Int(row.int64(0)), row.int64(1), row.int64(2))
        } ?? (0, 0, 0)
        let closing = try db.prepare("""
            SELECT balance_after FROM postings WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT 1
            """).queryOne(account.rawValue, bounds.upperBound) { $0.int64(0) } ?? 0
        precondition(opening + credits - debits == closing, "account \(account): postings disagree with balances")
        return StatementTotals(opening: Money(cents: opening), closing: Money(cents: closing),
                               credits: Money(cents: credits), debits: Money(cents: debits), count: count)
    }

    /// A page of `account`'s statement for `month`: at most `limit` entries after `after`, oldest first.
    public static func page(_ db: any SQLDatabase, account: AccountID, month: CalendarMonth, after: Int64?,
                            limit: Int) throws -> StatementPage {
        precondition(limit > 0, "a page holds at least one entry")
        let range = try bounds(db, month: month)
        let totals = try totals(db, account: account, bounds: range)
        let rows = try db.prepare("""
            SELECT p.id, p.txn_id, t.kind, p.amount, p.balance_after, p.created_at, t.note,
                   CASE WHEN t.kind = 'transfer' THEN
                        CASE WHEN t.debit_account = p.account_id THEN t.credit_account ELSE t.debit_account END
                   END
            FROM postings p JOIN transactions t ON t.id = p.txn_id
            WHERE p.account_id = ? AND p.id >= ? AND p.id < ? AND p.id > ?
            ORDER BY p.id LIMIT ?
            """).query(account.rawValue, range.lowerBound, range.upperBound, after ?? 0, limit + 1) { row in
            HistoryEntry(cursor: row.int64(0), transaction: TransactionID(row.int64(1)),
                         kind: TransactionKind(rawValue: row.string(2)) ?? .transfer, amount: Money(cents: row.int64(3)),
                         balanceAfter: Money(cents: row.int64(4)), at: Timestamp(milliseconds: row.int64(5)),
                         note: row.optionalString(6), counterparty: row.optionalInt64(7).map(AccountID.init))
        }
        let entries = Array(rows.prefix(limit))
        return StatementPage(account: account, month: month, totals: totals, entries: entries,
                             next: rows.count > limit ? entries.last?.cursor : nil)
    }

    /// The id of the first posting of the first transaction stamped at or after `time`; `Int64.max` when none.
    private static func firstPosting(_ db: any SQLDatabase, atOrAfter time: Timestamp) throws -> Int64 {
        try db.prepare("""
            SELECT MIN(p.id) FROM postings p
            WHERE p.txn_id = (SELECT id FROM transactions WHERE created_at >= ? ORDER BY created_at, id LIMIT 1)
            """).queryOne(time.milliseconds) { $0.optionalInt64(0) }.flatMap { $0 } ?? Int64.max
    }

    // MARK: Monthly e-mails

    /// What a monthly e-mail is; stored in `statement_mailings.kind`.
    public enum MailingKind: String, Sendable {
        case statement
        case adminReport = "admin_report"
    }

    /// Users of `role` with an e-mail address, signed up before `month` ended, who have not been sent that
    /// month's e-mail yet; oldest first, at most `limit`.
    public static func unmailedUsers(_ db: any SQLDatabase, month: CalendarMonth, role: Role,
                                     limit: Int) throws -> [UserRecord] {
        precondition(limit > 0, "a batch holds at least one user")
        return try db.prepare(UserRecords.userColumns + """
             FROM users WHERE role = ? AND email IS NOT NULL AND email <> '' AND created_at < ?
              AND NOT EXISTS (SELECT 1 FROM statement_mailings m WHERE m.user_id = users.id AND m.month = ?)
            ORDER BY id LIMIT ?
            """).query(role.rawValue, month.end.milliseconds, month.description, limit, row: UserRecords.user)
    }

    /// Remembers that `user` was sent `month`'s e-mail as outbox message `outbox`. Must share the commit of
    /// that outbox row; a second one for the same user and month throws (a unique violation).
    public static func insertMailing(_ db: any SQLDatabase, user: UserID, month: CalendarMonth, kind: MailingKind,
                                     outbox: Int64, at: Timestamp) throws {
        try db.prepare("""
            INSERT INTO statement_mailings(user_id, month, kind, outbox_id, created_at) VALUES (?, ?, ?, ?, ?)
            """).run(user.rawValue, month.description, kind.rawValue, outbox, at.milliseconds)
    }

    /// How many users were sent `month`'s e-mail of `kind`.
    public static func mailingCount(_ db: any SQLDatabase, month: CalendarMonth, kind: MailingKind) throws -> Int {
        Int(try db.prepare("SELECT COUNT(*) FROM statement_mailings WHERE month = ? AND kind = ?")
            .queryOne(month.description, kind.rawValue) { $0.int64(0) } ?? 0)
    }

    /// The customer accounts of `owner` opened before `month` ended, oldest first.
    public static func accounts(_ db: any SQLDatabase, ownedBy owner: UserID,
                                openedBefore month: CalendarMonth) throws -> [AccountRecord] {
        try LedgerRecords.accounts(db, ownedBy: owner).filter { $0.createdAt < month.end }
    }

    /// Users, accounts, money moved and logins per day in `month`, for the admins' report.
    public static func activity(_ db: any SQLDatabase, month: CalendarMonth) throws -> MonthlyActivity {
        let start = month.start.milliseconds, end = month.end.milliseconds
        let count = { (sql: String) throws -> (Int, Int) in
            try db.prepare(sql).queryOne(end, start, end) { (Int($0.int64(0)), Int($0.int64(1))) } ?? (0, 0)
        }
        let users = try count("""
            SELECT COUNT(*), COALESCE(SUM(CASE WHEN created_at >= ?2 AND created_at < ?3 THEN 1 ELSE 0 END), 0) FROM users WHERE created_at < ?1
            """)
        let accounts = try count("""
            SELECT COUNT(*), COALESCE(SUM(CASE WHEN created_at >= ?2 AND created_at < ?3 THEN 1 ELSE 0 END), 0) FROM accounts
            WHERE kind = 'customer' AND created_at < ?1
            """)
        var movements: [String: MonthlyActivity.Movement] = [:]
        try db.prepare("""
            SELECT kind, COUNT(*), SUM(amount) FROM transactions WHERE created_at >= ? AND created_at < ? GROUP BY kind
            """).query(start, end) { row in
            movements[row.string(0)] = .init(count: Int(row.int64(1)), total: Money(cents: row.int64(2)))
        }
        var logins = [Int](repeating: 0, count: Int(month.dayCount))
        try db.prepare("""
            SELECT (created_at - ?1) / 86400000, COUNT(*) FROM login_attempts
            WHERE outcome = 'success' AND created_at >= ?1 AND created_at < ?2 GROUP BY 1
            """).query(start, end) { row in
            let day = Int(row.int64(0))
            if logins.indices.contains(day) { logins[day] = Int(row.int64(1)) }
        }
        let none = MonthlyActivity.Movement(count: 0, total: .zero)
        return MonthlyActivity(usersTotal: users.0, usersNew: users.1, accountsTotal: accounts.0, accountsNew: accounts.1,
                               deposits: movements["deposit"] ?? none, withdrawals: movements["withdrawal"] ?? none,
                               transfers: movements["transfer"] ?? none, loginsPerDay: logins)
    }
}
