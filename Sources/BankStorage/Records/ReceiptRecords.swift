import BankCore

/// A place in the order receipts are read: the transaction's commit order (`transactions.commit_order`, the id of
/// the database transaction that wrote it on PostgreSQL, 0 on SQLite), then its id. The receipt cursor is one.
public struct ReceiptPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let commitOrder: Int64
    public let transaction: TransactionID

    public init(commitOrder: Int64, transaction: TransactionID) {
        precondition(commitOrder >= 0, "commit orders are not negative")
        self.commitOrder = commitOrder
        self.transaction = transaction
    }

    /// Before every transaction (a new database's cursor).
    public static let start = ReceiptPosition(commitOrder: 0, transaction: TransactionID(0))

    public static func < (lhs: ReceiptPosition, rhs: ReceiptPosition) -> Bool {
        (lhs.commitOrder, lhs.transaction) < (rhs.commitOrder, rhs.transaction)
    }

    public var description: String { "\(commitOrder)/\(transaction)" }
}

/// A committed transaction read after the receipt cursor, with what its receipt needs.
public struct ReceiptSource: Sendable, Equatable {
    public let transaction: TransactionRecord
    /// Where it stands in the order receipts are read (the cursor's place once its receipt is recorded).
    public let position: ReceiptPosition
    /// The balance of the transaction's reported account (`command.reportedAccount`) right after it.
    public let balance: Money
}

/// The receipt cursor (schema migration 8; a position since SQLite migration 10 and PostgreSQL migration 7):
/// receipts are derived from committed transactions by the outbox worker, which reads the transactions after the
/// cursor and, in the commit that records their receipts as outbox rows, moves the cursor past them. Each
/// transaction is read exactly once only if no transaction ever appears (commits) behind a position already
/// read past, so transactions are read in the order they become visible, not in id order:
///
/// - SQLite has one writer, which numbers transactions and commits them in id order: `commit_order` is 0 on
///   every row, the order is the id's, and there is no horizon (`transactions(…, horizon: nil, …)`).
/// - On PostgreSQL several hubs write at once: hub A may take id 100 and hub B id 101, and B commit first.
///   Each row's `commit_order` is the id of the PostgreSQL transaction that wrote it (`pg_current_xact_id()`,
///   the top-level one even inside a savepoint), and a pass reads only rows below a horizon: the xmin of a
///   snapshot taken before (or in) the read (`PostgresWorkClaims.receiptHorizon`), in (commit_order, id) order.
///   Why nothing is read past: every transaction with an id below xmin had ended when that snapshot was
///   taken, so the rows below the horizon are all committed (or gone with their rollback) and visible to the
///   read; a transaction still running then has an id ≥ xmin already, and one that gets its id later gets
///   one ≥ xmin too (ids are handed out in increasing order, and xmin ≤ the next one). So a row committed
///   after the read has `commit_order` ≥ the horizon > the `commit_order` of every position read, and stands
///   after the cursor however far it moved.
///   The cost: a transaction that stays open anywhere on the server after taking an id holds xmin back, and
///   receipts of everything committed after it wait until it ends (they are delayed, never lost).
public enum ReceiptRecords {
    /// The last position whose receipt is recorded (or needs none); `ReceiptPosition.start` before any.
    public static func cursor(_ db: any SQLDatabase) throws -> ReceiptPosition {
        guard let last = try db.prepare("SELECT last_commit_order, last_transaction_id FROM receipt_cursor WHERE id = 1")
            .queryOne(row: { ReceiptPosition(commitOrder: $0.int64(0), transaction: TransactionID($0.int64(1))) }) else {
            preconditionFailure("migration 8 inserts the receipt cursor's one row")
        }
        return last
    }

    /// The transactions after `cursor` whose `commit_order` is below `horizon`, in (commit order, id) order, at
    /// most `limit`, of every kind (the caller decides which get a receipt), each with its reported account's
    /// balance right after it. `horizon` nil: one writer (SQLite), every commit order is 0, and only the rest of
    /// the cursor's commit order is read, by the primary key.
    ///
    /// With a horizon, two index seeks on `transactions_commit_order` (PostgreSQL migration 7), the rest of the
    /// cursor's commit order then the later ones: a row-value comparison `(commit_order, id) > (?, ?)` would be
    /// bounded by its first column only. SQLite has no such index and never reads later commit orders: an index
    /// there cost the writer a page per commit, and a partial one (`WHERE commit_order > 0`) made SQLite prepare
    /// this statement again at every bind (its planner compares bound values with a partial index's condition),
    /// which doubled the outbox worker's CPU at 20,000 transfers/s.
    public static func transactions(_ db: any SQLDatabase, after cursor: ReceiptPosition, horizon: Int64?,
                                    limit: Int) throws -> [ReceiptSource] {
        precondition(limit > 0, "a positive batch")
        let sameOrder = "SELECT id FROM transactions WHERE commit_order = ?1 AND id > ?2 AND commit_order < ?3 ORDER BY id LIMIT ?4"
        let next = horizon == nil ? sameOrder : """
            SELECT * FROM (\(sameOrder)) AS same_order
            UNION ALL
            SELECT * FROM (SELECT id FROM transactions WHERE commit_order > ?1 AND commit_order < ?3
                           ORDER BY commit_order, id LIMIT ?4) AS later
            """
        return try db.prepare("""
            SELECT t.id, t.kind, t.user_id, t.amount, t.debit_account, t.credit_account, t.note, t.created_at,
                   p.balance_after, t.commit_order
            FROM (\(next)) AS next
            JOIN transactions t ON t.id = next.id
            JOIN postings p ON p.txn_id = t.id AND p.account_id =
                CASE WHEN t.kind IN ('deposit', 'goal_withdraw') THEN t.credit_account ELSE t.debit_account END
            ORDER BY t.commit_order, t.id LIMIT ?4
            """).query(cursor.commitOrder, cursor.transaction.rawValue, horizon ?? Int64.max, limit) { row in
            let record = TransactionRecord(
                id: TransactionID(row.int64(0)), kind: TransactionKind(rawValue: row.string(1)) ?? .transfer,
                user: UserID(row.int64(2)), amount: Money(cents: row.int64(3)), debited: AccountID(row.int64(4)),
                credited: AccountID(row.int64(5)), note: row.optionalString(6),
                at: Timestamp(milliseconds: row.int64(7)))
            return ReceiptSource(transaction: record,
                                 position: ReceiptPosition(commitOrder: row.int64(9), transaction: record.id),
                                 balance: Money(cents: row.int64(8)))
        }
    }

    /// When the earliest transaction still after the cursor was made (nil when the cursor is past every one): its
    /// receipt has waited since then. The first after the cursor in each of the two ranges `transactions` reads
    /// (the second only with `severalWriters`, as there); cheap enough for every metrics scrape. No horizon, so on
    /// PostgreSQL a transaction that waits for the horizon counts as waiting.
    public static func oldestWaiting(_ db: any SQLDatabase, severalWriters: Bool) throws -> Timestamp? {
        let after = try cursor(db)
        let sameOrder = "SELECT created_at FROM transactions WHERE commit_order = ?1 AND id > ?2 ORDER BY id LIMIT 1"
        let later = severalWriters ? """
            UNION ALL
            SELECT * FROM (SELECT created_at FROM transactions WHERE commit_order > ?1
                           ORDER BY commit_order, id LIMIT 1) AS later
            """ : ""
        return try db.prepare("SELECT MIN(created_at) FROM (SELECT * FROM (\(sameOrder)) AS same_order \(later)) AS first")
            .queryOne(after.commitOrder, after.transaction.rawValue) { $0.optionalInt64(0) }?
            .map { Timestamp(milliseconds: $0) }
    }

    /// Moves the cursor from `from` to `to`; false (and nothing changed) when it no longer stands at `from`
    /// (the receipts were recorded already, by an earlier pass whose commit was late), so a caller records each
    /// receipt once.
    public static func advance(_ db: any SQLDatabase, from: ReceiptPosition, to: ReceiptPosition) throws -> Bool {
        precondition(to > from, "the cursor only moves forward")
        try db.prepare("""
            UPDATE receipt_cursor SET last_commit_order = ?, last_transaction_id = ?
            WHERE id = 1 AND last_commit_order = ? AND last_transaction_id = ?
            """).run(to.commitOrder, to.transaction.rawValue, from.commitOrder, from.transaction.rawValue)
        return db.changes == 1
    }

    /// Moves the cursor past every transaction committed so far: they get no receipt (demo seeding, before any
    /// hub serves; a transaction another hub commits at the same time could be skipped with them).
    public static func skipAll(_ db: any SQLDatabase) throws {
        let from = try cursor(db)
        guard let last = try db.prepare("SELECT commit_order, id FROM transactions ORDER BY commit_order DESC, id DESC LIMIT 1")
            .queryOne(row: { ReceiptPosition(commitOrder: $0.int64(0), transaction: TransactionID($0.int64(1))) }),
            last > from else { return }
        _ = try advance(db, from: from, to: last)
    }
}
