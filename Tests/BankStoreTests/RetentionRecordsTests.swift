import BankCore
import BankStorage
import BankStore
import Testing

/// The purges against an on-disk database: each call deletes at most its batch and only what is past the
/// cutoff; the start-up load keeps old idempotency keys as hashes only.
struct RetentionRecordsTests {
    /// A database with one user and `rows` login attempts, the i-th made at time i (failures when odd).
    private func attempts(_ rows: Int) async throws -> (TemporaryDatabase, DatabaseWriter, UserID) {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        let user = try await writer.write { db in
            let user = try UserRecords.insert(db, .init(username: "alice", passwordHash: "x", role: .customer, email: nil,
                                                        phone: nil, fullName: nil, at: Timestamp(milliseconds: 1)))
            for index in 0..<rows {
                try SecurityRecords.insertAttempt(db, LoginAttempt(
                    user: user.id, username: "alice", ip: "10.0.0.1", userAgent: nil,
                    outcome: index % 2 == 1 ? "bad_password" : "success", at: Timestamp(milliseconds: Int64(index))))
            }
            return user.id
        }
        return (database, writer, user)
    }

    /// Purging by age deletes at most the batch per call, oldest rows only, and stops at the cutoff.
    @Test func purgesByAgeInBoundedBatches() async throws {
        let (database, writer, _) = try await attempts(250)
        defer { writer.close(); _ = database }
        var deleted: [Int] = []
        for _ in 0..<4 {
            deleted.append(try await writer.write { db in
                try RetentionRecords.purgeLoginAttempts(db, madeBefore: Timestamp(milliseconds: 230), limit: 100)
            })
        }
        #expect(deleted == [100, 100, 30, 0])
        let left = try await writer.write { db in
            try db.prepare("SELECT MIN(created_at), COUNT(*) FROM login_attempts").queryOne { ($0.int64(0), $0.int64(1)) }
        }
        #expect(left?.0 == 230 && left?.1 == 20)
    }

    /// Failed attempts past the newest `keeping` are trimmed in batches; successes are never trimmed.
    @Test func trimsOnlyOldFailuresPastTheMaximum() async throws {
        let (database, writer, user) = try await attempts(300)
        defer { writer.close(); _ = database }
        let over = try await writer.write { db in
            try RetentionRecords.overFailureCap(db, perUserMax: 40, unknownMax: 0, limit: 10)
        }
        #expect(over == [user])
        var deleted = 0
        for _ in 0..<3 {
            deleted += try await writer.write { db in try RetentionRecords.trimFailures(db, of: user, keeping: 40, limit: 100) }
        }
        #expect(deleted == 110)
        let (failures, successes) = try await writer.write { db in
            (try db.prepare("SELECT COUNT(*), MIN(created_at) FROM login_attempts WHERE outcome <> 'success'")
                .queryOne { [$0.int64(0), $0.int64(1)] },
             try db.prepare("SELECT COUNT(*) FROM login_attempts WHERE outcome = 'success'").queryOne { $0.int64(0) })
        }
        #expect(failures == [40, 221])
        #expect(successes == 150)
    }

    /// Keys of transactions made before `recentSince` load as hashes only; later ones as full entries.
    @Test func loadsOldKeysAsHashes() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let user = try await writer.write { db in
            try UserRecords.insert(db, .init(username: "alice", passwordHash: "x", role: .customer, email: nil, phone: nil,
                                             fullName: nil, at: Timestamp(milliseconds: 1)))
        }
        var state = try await writer.write { db in try LedgerRecords.load(db).state }
        let account = try state.openAccount(owner: user.id)
        var applied: [AppliedTransaction] = []
        for at in [10, 20, 30] as [Int64] {
            applied.append(try state.apply(.deposit(account: account.id, amount: Money(cents: 100)), by: user.id, note: nil,
                                           at: Timestamp(milliseconds: at)))
        }
        try await writer.write { [applied] db in
            try LedgerRecords.insertAccount(db, account, name: "A", at: Timestamp(milliseconds: 5))
            for (index, txn) in applied.enumerated() {
                try LedgerRecords.insertTransaction(db, txn, idempotencyKey: "key-\(index)")
                for posting in txn.postings { try LedgerRecords.updateBalance(db, posting.account, posting.balanceAfter) }
            }
        }
        let snapshot = try await writer.write { db in try LedgerRecords.load(db, recentSince: Timestamp(milliseconds: 20)) }
        #expect(snapshot.idempotency.storedCount == 1)
        #expect(snapshot.idempotency.recentCount == 2)
        let fingerprint = IdempotencyRegistry.Fingerprint(.deposit(account: account.id, amount: Money(cents: 100)), note: nil)
        #expect(try snapshot.idempotency.lookup(user: user.id, key: "key-0", fingerprint: fingerprint) == .unresolved)
        #expect(try snapshot.idempotency.lookup(user: user.id, key: "key-2", fingerprint: fingerprint) == .replay(applied[2].id))
        let stored = try await writer.write { db in try LedgerRecords.transaction(db, user: user.id, idempotencyKey: "key-0") }
        #expect(stored?.id == applied[0].id)
    }
}
