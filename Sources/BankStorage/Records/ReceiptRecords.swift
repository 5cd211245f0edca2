import BankCore

/// A committed transaction read after the receipt cursor, with what its receipt needs.
public struct ReceiptSource: Sendable, Equatable {
    public let transaction: TransactionRecord
    /// The balance of the transaction's reported account (`command.reportedAccount`) right after it.
    public let balance: Money
}

/// The receipt cursor (schema migration 8): receipts are derived from committed transactions by the outbox
/// worker, which reads the transactions after the cursor and, in the commit that records their receipts as
/// outbox rows, moves the cursor past them. This relies on transactions committing in id order (the ledger
/// numbers them and hands them to the one FIFO writer in that order): a transaction committed after a higher
/// id was read past would get no receipt.
public enum ReceiptRecords {
    /// The last transaction whose receipt is recorded (or needs none); 0 before any.
    public static func cursor(_ db: any SQLDatabase) throws -> TransactionID {
        guard let last = try db.prepare("SELECT last_transaction_id FROM receipt_cursor WHERE id = 1")
            .queryOne(row: { $0.int64(0) }) else {
            preconditionFailure("migration 8 inserts the receipt cursor's one row")
        }
        return TransactionID(last)
    }

    /// The transactions after `cursor`, oldest first, at most `limit`, of every kind (the caller decides which
    /// get a receipt), each with its reported account's balance right after it.
    public static func transactions(_ db: any SQLDatabase, after cursor: TransactionID,
                                    limit: Int) throws -> [ReceiptSource] {
        precondition(limit > 0, "a positive batch")
        return try db.prepare("""
            SELECT t.id, t.kind, t.user_id, t.amount, t.debit_account, t.credit_account, t.note, t.created_at,
                   p.balance_after
            FROM transactions t JOIN postings p ON p.txn_id = t.id AND p.account_id =
                CASE WHEN t.kind IN ('deposit', 'goal_withdraw') THEN t.credit_account ELSE t.debit_account END
            WHERE t.id > ? ORDER BY t.id LIMIT ?
            """).query(cursor.rawValue, limit) { row in
            let record = TransactionRecord(
                id: TransactionID(row.int64(0)), kind: TransactionKind(rawValue: row.string(1)) ?? .transfer,
                user: UserID(row.int64(2)), amount: Money(cents: row.int64(3)), debited: AccountID(row.int64(4)),
                credited: AccountID(row.int64(5)), note: row.optionalString(6),
                at: Timestamp(milliseconds: row.int64(7)))
            return ReceiptSource(transaction: record, balance: Money(cents: row.int64(8)))
        }
    }

    /// Moves the cursor from `from` to `to`; false (and nothing changed) when it no longer stands at `from`
    /// (the receipts were recorded already, by an earlier pass whose commit was late), so a caller records each
    /// receipt once.
    public static func advance(_ db: any SQLDatabase, from: TransactionID, to: TransactionID) throws -> Bool {
        precondition(to > from, "the cursor only moves forward")
        try db.prepare("UPDATE receipt_cursor SET last_transaction_id = ? WHERE id = 1 AND last_transaction_id = ?")
            .run(to.rawValue, from.rawValue)
        return db.changes == 1
    }

    /// Moves the cursor past every transaction committed so far: they get no receipt (demo seeding).
    public static func skipAll(_ db: any SQLDatabase) throws {
        try db.prepare("""
            UPDATE receipt_cursor SET last_transaction_id = COALESCE(
                (SELECT MAX(id) FROM transactions WHERE id > receipt_cursor.last_transaction_id), last_transaction_id)
            WHERE id = 1
            """).run()
    }
}
