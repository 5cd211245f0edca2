@testable import BankStorage
@testable import BankStore
import BankCore
import Testing

/// Schema migration 5 (everyday banking) on a database written by the schema before it, and the stored
/// ledger's check with savings goals in it.
struct GoalStoreTests {
    /// A database at schema 4 holding a user, accounts, a transfer and a challenge.
    private func databaseAtVersion4() throws -> (TemporaryDatabase, SQLiteConnection) {
        let database = try TemporaryDatabase()
        let connection = try SQLiteConnection(path: database.path, mode: .readWrite)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute(Schema.connectionPragmas)
        try connection.execute("CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        for migration in Schema.migrations where migration.version <= 4 {
            try connection.transaction {
                try connection.execute(migration.sql)
                try connection.prepare("INSERT INTO schema_migrations(version, applied_at) VALUES (?, 0)").run(migration.version)
            }
        }
        try connection.transaction {
            try connection.execute("""
                INSERT INTO users(id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 1);
                INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1001, 7, 'customer', 'A', 7500, 2);
                INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1002, 7, 'customer', 'B', 2500, 2);
                UPDATE accounts SET balance = -10000 WHERE id = 1;
                INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, idempotency_key, created_at)
                    VALUES (1, 'deposit', 7, 10000, 1, 1001, NULL, 3), (2, 'transfer', 7, 2500, 1001, 1002, 'k-1', 4);
                INSERT INTO postings(txn_id, account_id, amount, balance_after, created_at, seq) VALUES
                    (1, 1, -10000, -10000, 3, NULL), (1, 1001, 10000, 10000, 3, 1),
                    (2, 1001, -2500, 7500, 4, 2), (2, 1002, 2500, 2500, 4, 1);
                INSERT INTO otp_challenges(id, user_id, purpose, payload, code_hash, created_at, expires_at)
                    VALUES ('c-1', 7, 'transfer', '{}', x'00', 5, 6);
                """)
        }
        return (database, connection)
    }

    /// Migration 5 keeps every row, the indexes, and the triggers that keep transactions immutable, and the
    /// migrated ledger loads and checks clean; goal kinds, goal transactions and profile challenges are then
    /// accepted.
    @Test func migratesAnExistingLedger() throws {
        let (database, connection) = try databaseAtVersion4()
        try Schema.migrate(connection)
        #expect(try LedgerRecords.violations(connection).isEmpty)
        let snapshot = try LedgerRecords.load(connection)
        #expect(snapshot.state.accounts[AccountID(1001)]?.balance.cents == 7_500)
        #expect(snapshot.state.lastTransactionID == TransactionID(2))
        #expect(snapshot.idempotency.count == 1)
        #expect(try connection.prepare("SELECT COUNT(*) FROM otp_challenges").queryOne { $0.int64(0) } == 1)
        let indexes = Set(try connection.prepare("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")
            .query { $0.string(0) })
        #expect(indexes.isSuperset(of: ["accounts_owner", "transactions_user", "transactions_time", "otp_challenges_time",
                                        "transactions_are_immutable_update", "transactions_are_immutable_delete"]))
        #expect(throws: SQLiteError.self) { try connection.execute("UPDATE transactions SET amount = 1 WHERE id = 2") }
        #expect(throws: SQLiteError.self) { try connection.execute("DELETE FROM transactions WHERE id = 1") }
        try connection.execute("""
            INSERT INTO accounts(id, owner_id, kind, name, created_at, parent_id) VALUES (1003, 7, 'goal', 'Bike', 7, 1001);
            INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, created_at)
                VALUES (3, 'goal_fund', 7, 100, 1001, 1003, 8);
            INSERT INTO otp_challenges(id, user_id, purpose, payload, code_hash, created_at, expires_at)
                VALUES ('c-2', 7, 'profile', '{}', x'00', 5, 6);
            """)
        #expect(throws: SQLiteError.self) {
            try connection.execute("INSERT INTO accounts(id, owner_id, kind, name, created_at) VALUES (1004, 7, 'goal', 'x', 7)")
        }
        _ = database
    }

    /// The start-up check covers goal accounts: a goal balance that does not match its postings, and a closed
    /// goal still holding money, are reported.
    @Test func ledgerCheckCoversGoals() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let user = try await writer.write { db in
            try UserRecords.insert(db, .init(username: "alice", passwordHash: "x", role: .customer, email: nil, phone: nil,
                                             fullName: nil, at: Timestamp(milliseconds: 1)))
        }
        var state = try await writer.write { db in try LedgerRecords.load(db).state }
        let account = try state.openAccount(owner: user.id)
        let goal = try state.openGoal(owner: user.id, on: account.id)
        let at = Timestamp(milliseconds: 10)
        let deposit = try state.apply(.deposit(account: account.id, amount: Money(cents: 10_000)), by: user.id, note: nil, at: at)
        let fund = try state.apply(.goalFund(account: account.id, goal: goal.id, amount: Money(cents: 4_000)), by: user.id,
                                   note: nil, at: at)
        let record = GoalRecord(id: goal.id, account: account.id, owner: user.id, name: "Bike", target: Money(cents: 50_000),
                                targetDate: "2027-06-30", saved: .zero, createdAt: at)
        let problems = try await writer.write { db -> [String] in
            try LedgerRecords.insertAccount(db, account, name: "A", at: at)
            try GoalRecords.insert(db, record, account: goal)
            for txn in [deposit, fund] {
                try LedgerRecords.insertTransaction(db, txn, idempotencyKey: nil)
                for posting in txn.postings { try LedgerRecords.updateBalance(db, posting.account, posting.balanceAfter) }
            }
            return try LedgerRecords.violations(db)
        }
        #expect(problems.isEmpty)
        let stored = try await writer.write { db in try GoalRecords.goals(db, ownedBy: user.id) }
        #expect(stored == [record.holding(Money(cents: 4_000))])
        let tampered = try await writer.write { db -> [String] in
            try db.execute("UPDATE accounts SET balance = 5000 WHERE id = \(goal.id.rawValue)")
            return try LedgerRecords.violations(db)
        }
        #expect(tampered.contains { $0.hasPrefix("account \(goal.id) balance 5000") })
        let closedWithMoney = try await writer.write { db -> [String] in
            try db.execute("UPDATE accounts SET balance = 4000, status = 'closed' WHERE id = \(goal.id.rawValue)")
            return try LedgerRecords.violations(db)
        }
        #expect(closedWithMoney == ["goal account \(goal.id) (balance 4000) is not an open goal of its owner's account"])
    }
}
