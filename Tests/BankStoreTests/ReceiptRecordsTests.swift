@testable import BankStorage
@testable import BankStore
import BankCore
import Testing

/// The receipt cursor and the outbox rows of receipts recorded after their first attempt.
struct ReceiptRecordsTests {
    /// A migrated database with a deposit (txn 1) and a transfer (txn 2) by user 7.
    private func ledger() throws -> (TemporaryDatabase, SQLiteConnection) {
        let database = try TemporaryDatabase()
        let db = try SQLiteConnection(path: database.path, mode: .readWrite)
        try Schema.migrate(db)
        try db.transaction {
            try db.execute("""
                INSERT INTO users(id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 1);
                INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1001, 7, 'customer', 'A', 7500, 2);
                INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1002, 7, 'customer', 'B', 2500, 2);
                UPDATE accounts SET balance = -10000 WHERE id = 1;
                INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, created_at)
                    VALUES (1, 'deposit', 7, 10000, 1, 1001, 3), (2, 'transfer', 7, 2500, 1001, 1002, 4);
                INSERT INTO postings(txn_id, account_id, amount, balance_after, created_at) VALUES
                    (1, 1, -10000, -10000, 3), (1, 1001, 10000, 10000, 3),
                    (2, 1001, -2500, 7500, 4), (2, 1002, 2500, 2500, 4);
                """)
        }
        return (database, db)
    }

    /// The position of transaction `id` on SQLite: one writer commits in id order, so every commit order is 0.
    private func at(_ id: Int64) -> ReceiptPosition { ReceiptPosition(commitOrder: 0, transaction: TransactionID(id)) }

    /// A new database starts the cursor at the start; transactions after it come oldest first, at most the limit,
    /// each with its position and its reported account's balance after it (the credited account of a deposit, the
    /// payer's of a transfer).
    @Test func readsTransactionsAfterTheCursorWithTheirBalance() throws {
        let (_, db) = try ledger()
        #expect(try ReceiptRecords.cursor(db) == .start)
        let first = try ReceiptRecords.transactions(db, after: .start, horizon: nil, limit: 1)
        #expect(first.map(\.position) == [at(1)] && first.first?.balance == Money(cents: 10_000))
        let second = try ReceiptRecords.transactions(db, after: at(1), horizon: nil, limit: 32)
        #expect(second.map(\.transaction.id) == [TransactionID(2)] && second.first?.balance == Money(cents: 7_500))
        #expect(try ReceiptRecords.transactions(db, after: at(2), horizon: nil, limit: 32).isEmpty)
    }

    /// The cursor moves only from where the mover read it: a second record of the same batch changes nothing.
    @Test func advancesTheCursorOnlyFromWhereItStands() throws {
        let (_, db) = try ledger()
        #expect(try ReceiptRecords.advance(db, from: .start, to: at(1)))
        #expect(try !ReceiptRecords.advance(db, from: .start, to: at(1)))
        #expect(try ReceiptRecords.cursor(db) == at(1))
        try ReceiptRecords.skipAll(db)
        #expect(try ReceiptRecords.cursor(db) == at(2))
        try ReceiptRecords.skipAll(db)
        #expect(try ReceiptRecords.cursor(db) == at(2), "nothing after it: the cursor stays")
    }

    /// A receipt recorded after its first attempt: `sent` with one attempt, `pending` for its retry, or `failed`.
    @Test func recordsTheFirstAttempt() throws {
        let (_, db) = try ledger()
        let at = Timestamp(milliseconds: 5)
        func insert(_ attempt: OutboxRecords.FirstAttempt) throws {
            try OutboxRecords.insertAttempted(db, channel: "email", recipient: "a@example.com", subject: "s", body: "b",
                                              createdAt: at, attempt: attempt)
        }
        try insert(.sent(at: Timestamp(milliseconds: 6)))
        try insert(.failed(error: "down", nextAttemptAt: Timestamp(milliseconds: 1_005)))
        try insert(.failed(error: "gone", nextAttemptAt: nil))
        let rows = try OutboxRecords.recent(db, limit: 3).reversed().map { ($0.status, $0.attempts, $0.sentAt, $0.lastError) }
        #expect(rows.map(\.0) == [.sent, .pending, .failed])
        #expect(rows.map(\.1) == [1, 1, 1])
        #expect(rows.map(\.2) == [Timestamp(milliseconds: 6), nil, nil])
        #expect(rows.map(\.3) == [nil, "down", "gone"])
        #expect(try OutboxRecords.due(db, limit: 8, now: Timestamp(milliseconds: 1_005)).map(\.lastError) == ["down"])
    }
}
