import BankCore
import BankStorage
import BankStore
import Foundation
import Testing

/// A fresh on-disk database in a temporary folder, removed when the test ends.
final class TemporaryDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("bank.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

struct LedgerStoreTests {
    private func seededUser(_ writer: DatabaseWriter, _ name: String) async throws -> UserRecord {
        try await writer.write { db in
            try UserRecords.insert(db, .init(username: name, passwordHash: "x", role: .customer, email: nil, phone: nil,
                                             fullName: nil, at: Timestamp(milliseconds: 1)))
        }
    }

    /// What the writer commits is what a reload gives back: accounts, balances, keys; and the invariants hold.
    @Test func reloadsWhatWasCommitted() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        let user = try await seededUser(writer, "alice")
        var state = try await writer.write { db in try LedgerRecords.load(db).state }
        let a = try state.openAccount(owner: user.id)
        let b = try state.openAccount(owner: user.id)
        let deposit = try state.apply(.deposit(account: a.id, amount: Money(cents: 10_000)), by: user.id, note: nil,
                                      at: Timestamp(milliseconds: 10))
        let transfer = try state.apply(.transfer(from: a.id, to: b.id, amount: Money(cents: 2_500)), by: user.id,
                                       note: "x", at: Timestamp(milliseconds: 20))
        try await writer.write { db in
            try LedgerRecords.insertAccount(db, a, name: "A", at: Timestamp(milliseconds: 5))
            try LedgerRecords.insertAccount(db, b, name: "B", at: Timestamp(milliseconds: 5))
            for (txn, key) in [(deposit, nil), (transfer, "key-1")] as [(AppliedTransaction, String?)] {
                try LedgerRecords.insertTransaction(db, txn, idempotencyKey: key)
                for posting in txn.postings { try LedgerRecords.updateBalance(db, posting.account, posting.balanceAfter) }
            }
        }
        writer.close()
        let reopened = try DatabaseWriter(path: database.path)
        defer { reopened.close() }
        let (snapshot, problems) = try await reopened.write { db in (try LedgerRecords.load(db), try LedgerRecords.violations(db)) }
        #expect(problems.isEmpty)
        #expect(snapshot.state.accounts == state.accounts)
        #expect(snapshot.state.lastTransactionID == transfer.id)
        #expect(snapshot.idempotency.count == 1)
    }

    /// SQLite itself refuses to change or delete a posting, a transaction or an event.
    @Test func refusesToRewriteHistory() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let user = try await seededUser(writer, "bob")
        var state = LedgerState.empty
        let account = try state.openAccount(owner: user.id)
        let txn = try state.apply(.deposit(account: account.id, amount: Money(cents: 100)), by: user.id, note: nil,
                                  at: Timestamp(milliseconds: 1))
        try await writer.write { db in
            try LedgerRecords.insertAccount(db, account, name: "A", at: Timestamp(milliseconds: 1))
            try LedgerRecords.insertTransaction(db, txn, idempotencyKey: nil)
            try EventRecords.append(db, StoredEvent(stream: "account:1001", seq: 1, kind: "balance", data: "{}", at: 1))
        }
        for sql in ["UPDATE postings SET amount = amount * 2", "DELETE FROM postings", "UPDATE transactions SET amount = 1",
                    "DELETE FROM transactions", "DELETE FROM events", "UPDATE events SET data = '{}'"] {
            await #expect(throws: SQLiteError.self, "\(sql) must fail") {
                try await writer.write { db in try db.execute(sql) }
            }
        }
        let postings = try await writer.write { db in try db.prepare("SELECT COUNT(*) FROM postings").queryOne { $0.int64(0) } }
        #expect(postings == 2)
    }

    /// A balance that disagrees with its postings is reported by the invariant check.
    @Test func detectsBalanceThatDisagreesWithPostings() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let user = try await seededUser(writer, "carol")
        let problems = try await writer.write { db -> [String] in
            try db.execute("INSERT INTO accounts(id, owner_id, kind, name, balance, created_at) VALUES (1001, \(user.id), 'customer', 'x', 500, 0)")
            return try LedgerRecords.violations(db)
        }
        #expect(problems.contains { $0.contains("account 1001") })
        #expect(problems.contains { $0.contains("balances sum to 500") })
    }

    /// Many concurrent writes share commits (group commit) and each completes only after its commit.
    @Test func groupsConcurrentWritesIntoFewerCommits() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let before = writer.commits
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<2_000 {
                group.addTask {
                    try await writer.write { db in
                        try EventRecords.append(db, StoredEvent(stream: "s", seq: Int64(index + 1), kind: "k", data: "{}", at: 0))
                    }
                }
            }
            try await group.waitForAll()
        }
        let after = writer.commits
        #expect(after.jobs - before.jobs == 2_000)
        #expect(after.count - before.count < 2_000)
        let stored = try await writer.write { db in try EventRecords.head(db, stream: "s") }
        #expect(stored == 2_000)
    }

    /// A failing job rolls back only itself; its neighbours in the same commit succeed.
    @Test func isolatesAFailingJobInItsSavepoint() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        _ = try await seededUser(writer, "dave")
        await #expect(throws: BankError.self) { _ = try await seededUser(writer, "dave") }
        _ = try await seededUser(writer, "erin")
        let count = try await writer.write { db in try db.prepare("SELECT COUNT(*) FROM users").queryOne { $0.int64(0) } }
        #expect(count == 2)
    }
}
