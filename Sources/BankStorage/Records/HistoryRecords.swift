import BankCore

/// One line of an account's statement.
public struct HistoryEntry: Sendable, Equatable {
    /// The posting's id; pages are cut by it.
    public let cursor: Int64
    public let transaction: TransactionID
    public let kind: TransactionKind
    /// Signed: negative when money left the account.
    public let amount: Money
    public let balanceAfter: Money
    public let at: Timestamp
    public let note: String?
    /// The other customer account of a transfer, the goal (its id) of a goal movement; nil for deposits and
    /// withdrawals.
    public let counterparty: AccountID?
}

/// Statement queries: history pages and historical balances, read from the immutable postings.
public enum HistoryRecords {
    /// Entries of `account` newest first, strictly older than `before` (a cursor from an earlier page).
    public static func history(_ db: any SQLDatabase, account: AccountID, limit: Int,
                               before: Int64?) throws -> [HistoryEntry] {
        precondition(limit > 0, "a page holds at least one entry")
        return try db.prepare("""
            SELECT p.id, p.txn_id, t.kind, p.amount, p.balance_after, p.created_at, t.note,
                   CASE WHEN t.kind IN ('transfer', 'goal_fund', 'goal_withdraw') THEN
                        CASE WHEN t.debit_account = p.account_id THEN t.credit_account ELSE t.debit_account END
                   END
            FROM postings p JOIN transactions t ON t.id = p.txn_id
            WHERE p.account_id = ? AND p.id < ?
            ORDER BY p.id DESC LIMIT ?
            """).query(account.rawValue, before ?? Int64.max, limit) { row in
            HistoryEntry(cursor: row.int64(0), transaction: TransactionID(row.int64(1)),
                         kind: TransactionKind(rawValue: row.string(2)) ?? .transfer, amount: Money(cents: row.int64(3)),
                         balanceAfter: Money(cents: row.int64(4)), at: Timestamp(milliseconds: row.int64(5)),
                         note: row.optionalString(6), counterparty: row.optionalInt64(7).map(AccountID.init))
        }
    }

    /// The balance after every transaction at or before `at`; zero before the first.
    public static func balance(_ db: any SQLDatabase, account: AccountID, at: Timestamp) throws -> Money {
        let cents = try db.prepare("""
            SELECT balance_after FROM postings WHERE account_id = ? AND created_at <= ? ORDER BY id DESC LIMIT 1
            """).queryOne(account.rawValue, at.milliseconds) { $0.int64(0) }
        return Money(cents: cents ?? 0)
    }
}
