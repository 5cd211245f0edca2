import BankCore
@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing
import WebSocketClient

/// Receipts derived from the ledger: the outbox worker reads committed transactions after the receipt cursor
/// and records one outbox row per deposit, withdrawal and transfer, to the acting user; none for goal
/// movements or demo data; none lost or recorded twice across a clean restart or a SIGKILL.
@Suite(.serialized) struct ReceiptLedgerTests {
    /// Receipt rows by transaction id, each with its recipients (more than one would be a duplicate).
    static func receipts(_ open: () throws -> any SQLDatabase) throws -> [Int64: [String]] {
        let db = try open()
        let rows = try db.prepare("SELECT recipient, body FROM outbox WHERE subject LIKE 'BankHub receipt:%'")
            .query { ($0.string(0), $0.string(1)) }
        var byTransaction: [Int64: [String]] = [:]
        for (recipient, body) in rows {
            let line = body.split(separator: "\n").first { $0.hasPrefix("Transaction: ") } ?? ""
            byTransaction[Int64(line.dropFirst("Transaction: ".count)) ?? -1, default: []].append(recipient)
        }
        return byTransaction
    }

    /// The transactions that get a receipt after `after`, each with the recipient its acting user has (no
    /// contacts in these tests: `user:NAME`).
    static func receiptedTransactions(_ open: () throws -> any SQLDatabase, after: Int64 = 0) throws -> [Int64: [String]] {
        let db = try open()
        let rows = try db.prepare("""
            SELECT t.id, u.username FROM transactions t JOIN users u ON u.id = t.user_id
            WHERE t.kind IN ('deposit', 'withdrawal', 'transfer') AND t.id > ?
            """).query(after) { ($0.int64(0), "user:" + $0.string(1)) }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.0, [$0.1]) })
    }

    /// A reader of the SQLite file at `path` (the tests that run `bankhub serve --db` processes).
    static func sqlite(_ path: String) -> () throws -> any SQLDatabase {
        { try SQLiteConnection(path: path, mode: .readOnly) }
    }

    /// Polls until `count` receipts are recorded and the cursor is past every transaction (bounded).
    static func settle(_ open: () throws -> any SQLDatabase, count: Int) async throws {
        for _ in 0..<500 {
            let db = try open()
            let behind = try db.prepare("""
                SELECT COUNT(*) FROM transactions t JOIN receipt_cursor c ON c.id = 1
                WHERE (t.commit_order, t.id) > (c.last_commit_order, c.last_transaction_id)
                """).queryOne { $0.int64(0) } ?? -1
            if try receipts(open).count >= count, behind == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Transfers, an initial deposit and goal movements before and after a clean restart: every deposit,
    /// withdrawal and transfer has exactly one receipt, to the user who made it; goal movements have none.
    @Test func receiptsEachMoneyOpOnceAcrossACleanRestart() async throws {
        let hub = PersistentHub()
        defer { hub.remove() }
        let (alice, bob) = try await hub.run { run in
            let alice = try await Self.customer(run, "alice", deposit: "500.00")
            let bob = try await Self.customer(run, "bob", deposit: nil)
            for _ in 0..<15 {
                _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00"])
            }
            _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "2.00"])
            _ = try await alice.client.ok("open_account", ["name": "Spare", "initial_deposit": "3.00"])
            let goal = try #require(try await alice.client.ok("goal_create", ["account": .string(alice.account), "name": "Bike",
                                                                              "target": "50.00"])["goal"]?["id"])
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "10.00"])
            _ = try await alice.client.ok("goal_withdraw", ["goal": goal, "amount": "4.00"])
            // Stopped at once: receipts not yet recorded are derived after the restart.
            return (alice.account, bob.account)
        }
        try await hub.run { run in
            let bobClient = try await run.client()
            _ = try await bobClient.ok("login", ["username": "bob", "password": "correct horse battery"])
            for _ in 0..<10 {
                _ = try await bobClient.ok("transfer", ["from": .string(bob), "to": .string(alice), "amount": "0.50"])
            }
            let expected = try Self.receiptedTransactions(hub.database)
            // alice's deposit, 15 transfers, the withdrawal and the initial deposit; bob's 10 transfers.
            let moneyOps = 28
            #expect(expected.count == moneyOps)
            try await Self.settle(hub.database, count: expected.count)
            #expect(try Self.receipts(hub.database) == expected)
        }
        let db = try hub.database()
        let goalMovements = try db.prepare("SELECT COUNT(*) FROM transactions WHERE kind LIKE 'goal_%'").queryOne { $0.int64(0) }
        #expect(goalMovements == 2)
        let statuses = try db.prepare("SELECT DISTINCT status || '/' || attempts FROM outbox WHERE subject LIKE 'BankHub receipt:%'")
            .query { $0.string(0) }
        #expect(statuses == ["sent/1"])
    }

    /// A database from before migration 8 (its receipts written in each transaction's commit) starts the cursor at
    /// its last transaction: nothing is receipted twice, and the next transfer gets its one receipt.
    @Test(.disabled(if: TestDatabase.isPostgres, "SQLite's migration 8"))
    func upgradedDatabaseReceiptsNothingTwice() async throws {
        let hub = PersistentHub()
        defer { hub.remove() }
        let bob = try await hub.run { run in
            let alice = try await Self.customer(run, "alice", deposit: "50.00")
            let bob = try await Self.customer(run, "bob", deposit: nil)
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00"])
            try await Self.settle(hub.database, count: 2)
            return bob
        }
        let before = try Self.receipts(hub.database)
        #expect(before.count == 2)
        // As the schema was before migration 8 (and so before 10), with the receipts already in the outbox.
        try hub.database().execute("""
            DROP TABLE receipt_cursor;
            ALTER TABLE transactions DROP COLUMN commit_order;
            DELETE FROM schema_migrations WHERE version IN (8, 10);
            """)
        try await hub.run { run in
            let alice = try await run.client()
            _ = try await alice.ok("login", ["username": "alice", "password": "correct horse battery"])
            let account = try #require(try await alice.ok("accounts")["accounts"]?.arrayValue?.first?["id"])
            let txn = try #require(try await alice.ok("transfer", ["from": account, "to": .string(bob.account),
                                                                   "amount": "2.00"])["txn"]?["id"]?.stringValue)
            try await Self.settle(hub.database, count: 3)
            var expected = before
            expected[Int64(txn)!] = ["user:alice"]
            #expect(try Self.receipts(hub.database) == expected)
        }
    }

    /// `bankhub serve --demo` seeds months of history without a receipt for any of it; the next deposit gets one.
    @Test(.disabled(if: TestDatabase.isPostgres, "runs bankhub serve --db processes (SQLite)"))
    func demoDataGetsNoReceipts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("bank.sqlite").path
        let (process, port) = try CrashRecoveryTests.launch(database: database, ["--demo"])
        defer { process.terminate(); process.waitUntilExit() }
        let seeded = try Self.receiptedTransactions(Self.sqlite(database))
        #expect(seeded.count > 50)
        let client = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await client.ok("login", ["username": "bob", "password": "bob-demo-2026"])
        let account = try #require(try await client.ok("accounts")["accounts"]?.arrayValue?.first?["id"])
        let deposit = try #require(try await client.ok("deposit", ["account": account, "amount": "1.00"])["txn"]?["id"]?.stringValue)
        try await Self.settle(Self.sqlite(database), count: 1)
        #expect(try Self.receipts(Self.sqlite(database)) == [Int64(deposit)!: ["bob@example.com"]])
    }

    /// The real process gets SIGKILL right after a burst of acknowledged transfers; after the next start every
    /// transfer has its receipt row, and none has two (a receipt delivered but not recorded before the kill is
    /// delivered again, and recorded once).
    @Test(.disabled(if: TestDatabase.isPostgres, "kill -9 of an SQLite hub process"))
    func recordsEachReceiptOnceAcrossKill9() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("bank.sqlite").path
        let (first, port) = try CrashRecoveryTests.launch(database: database)
        let client = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        let alice = try #require(try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])["account"]?["id"])
        let bob = try #require(try await client.ok("signup", ["username": "bob", "password": "correct horse battery"])["account"]?["id"])
        _ = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
        _ = try await client.ok("deposit", ["account": alice, "amount": "100.00"])
        for _ in 0..<40 { _ = try await client.ok("transfer", ["from": alice, "to": bob, "amount": "0.01"]) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let (second, _) = try CrashRecoveryTests.launch(database: database)
        defer { second.terminate(); second.waitUntilExit() }
        let expected = try Self.receiptedTransactions(Self.sqlite(database))
        #expect(expected.count == 41)
        try await Self.settle(Self.sqlite(database), count: expected.count)
        #expect(try Self.receipts(Self.sqlite(database)) == expected)
    }

    private static func customer(_ run: PersistentHub.Run, _ name: String, deposit: String?) async throws -> Customer {
        let client = try await run.client()
        let signup = try await client.ok("signup", ["username": .string(name), "password": "correct horse battery"])
        _ = try await client.ok("login", ["username": .string(name), "password": "correct horse battery"])
        let account = signup["account"]?["id"]?.stringValue ?? ""
        if let deposit { _ = try await client.ok("deposit", ["account": .string(account), "amount": .string(deposit)]) }
        return Customer(client: client, token: "", account: account, userID: "")
    }
}
