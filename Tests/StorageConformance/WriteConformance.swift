import BankCore
import BankStorage
import Testing

/// The writer's path: a transaction applied by BankCore's rules, written with its postings (and seqs) and new
/// balances, reads back and verifies; a replayed idempotency key finds it; append-only tables refuse changes.
enum WriteConformance {
    /// A deposit and a transfer written through the records read back as the ledger that made them.
    static func transactions(_ db: any SQLDatabase) throws {
        _ = try EverydayConformance.customer(db)
        var state = try LedgerRecords.load(db).state
        let user = try #require(try UserRecords.user(db, username: "alice")).id
        let commands: [(LedgerCommand, String?, [Int64?])] = [
            (.deposit(account: AccountID(1001), amount: Money(cents: 10_000)), "d-1", [nil, 1]),
            (.transfer(from: AccountID(1001), to: AccountID(1002), amount: Money(cents: 2_500)), nil, [2, 1]),
        ]
        for (command, key, seqs) in commands {
            let txn = try state.apply(command, by: user, note: key == nil ? "rent" : nil, at: Timestamp(milliseconds: 100))
            try LedgerRecords.insertTransaction(db, txn, idempotencyKey: key, seqs: seqs)
            for posting in txn.postings {
                try LedgerRecords.updateBalance(db, posting.account, posting.balanceAfter)
            }
        }
        #expect(try LedgerRecords.violations(db) == [])
        #expect(try LedgerRecords.account(db, AccountID(1001))?.balance == Money(cents: 7_500))
        #expect(try LedgerRecords.balance(db, of: AccountID(1002), after: TransactionID(2)) == Money(cents: 2_500))
        #expect(try LedgerRecords.transaction(db, user: user, idempotencyKey: "d-1")?.id == TransactionID(1))
        #expect(try LedgerRecords.transaction(db, TransactionID(2))?.note == "rent")
        let reloaded = try LedgerRecords.load(db)
        #expect(reloaded.state.totalBalance == Money(cents: 0))
        #expect(try EventRecords.head(db, stream: "account:1001") == 3)
    }

    /// Postings and the audit log are append-only on both engines: an UPDATE is refused and changes nothing.
    static func appendOnly(_ db: any SQLDatabase) throws {
        let admin = try RecordConformance.newUser(db, "admin")
        try AuditRecords.append(db, actor: admin.id, action: "lock", target: "user:2", detail: nil,
                                at: Timestamp(milliseconds: 1))
        #expect(throws: (any Error).self) { try db.prepare("UPDATE audit_log SET action = 'unlock'").run() }
        #expect(throws: (any Error).self) { try db.prepare("DELETE FROM audit_log").run() }
        #expect(try AuditRecords.page(db, limit: 10, before: nil).map(\.action) == ["lock"])
    }
}
