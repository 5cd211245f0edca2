import BankCore
import BankStorage
import Testing

/// Ledger reads over a small ledger written in SQL both engines take: a deposit into alice's account 1001 and
/// her transfer to bob's 1002, whose customer-account events are derived from postings with `seq`.
enum LedgerConformance {
    /// 2024-02-01T00:00:00Z: the ledger's month.
    static let february = Int64(1_706_745_600_000)

    static func seed(_ db: any SQLDatabase) throws {
        let t0 = february
        let statements: [(String, [any SQLBindable])] = [
            ("INSERT INTO users(id, username, password_hash, created_at) VALUES (7, 'alice', 'x', 1), (8, 'bob', 'x', 1)", []),
            ("UPDATE accounts SET balance = -10000 WHERE id = 1", []),
            ("""
             INSERT INTO accounts(id, owner_id, kind, name, balance, created_at)
             VALUES (1001, 7, 'customer', 'A', 7500, 2), (1002, 8, 'customer', 'B', 2500, 2)
             """, []),
            ("""
             INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, note, created_at)
             VALUES (1, 'deposit', 7, 10000, 1, 1001, NULL, ?), (2, 'transfer', 7, 2500, 1001, 1002, 'rent', ?)
             """, [t0 + 1_000, t0 + 2_000]),
            ("""
             INSERT INTO postings(txn_id, account_id, amount, balance_after, created_at, seq) VALUES
                 (1, 1, -10000, -10000, ?1, NULL), (1, 1001, 10000, 10000, ?1, 1),
                 (2, 1001, -2500, 7500, ?2, 2), (2, 1002, 2500, 2500, ?2, 1)
             """, [t0 + 1_000, t0 + 2_000]),
            ("INSERT INTO events(stream, seq, kind, data, created_at) VALUES ('account:1001', 4, 'rejected', '{}', ?)",
             [t0 + 3_000]),
            ("INSERT INTO events(stream, seq, kind, data, created_at) VALUES ('user:7', 1, 'otp', '{}', ?)", [t0 + 3_000]),
        ]
        for (sql, values) in statements {
            try db.prepare(sql).run(binding: values)
        }
    }

    /// The seeded ledger verifies: balances, postings and the derived-plus-stored event seqs agree.
    static func verifies(_ db: any SQLDatabase) throws {
        try seed(db)
        #expect(try LedgerRecords.violations(db) == [])
        try db.prepare("INSERT INTO events(stream, seq, kind, data, created_at) VALUES ('account:1002', 5, 'x', '{}', 0)").run()
        #expect(try LedgerRecords.violations(db).count == 1)
    }

    /// Events of an account stream merge derived (balance, transfer) and stored rows by seq; heads agree.
    static func events(_ db: any SQLDatabase) throws {
        try seed(db)
        let events = try EventRecords.events(db, stream: "account:1001", after: 0, limit: 10)
        #expect(events.map(\.seq) == [1, 2, 3, 4])
        #expect(events.map(\.kind) == ["balance", "balance", "transfer", "rejected"])
        #expect(try EventRecords.events(db, stream: "account:1001", after: 2, limit: 1).map(\.seq) == [3])
        #expect(try EventRecords.head(db, stream: "account:1001") == 4)
        #expect(try EventRecords.head(db, stream: "account:1002") == 2)
        let heads = try EventRecords.heads(db)
        #expect(heads["account:1001"] == 4 && heads["account:1002"] == 2 && heads["user:7"] == 1)
        #expect(heads["account:1"] == nil)
    }

    /// History, statements, receipts and the staff journal read the same ledger the same way.
    static func reads(_ db: any SQLDatabase) throws {
        try seed(db)
        let history = try HistoryRecords.history(db, account: AccountID(1001), limit: 10, before: nil)
        #expect(history.map(\.amount.cents) == [-2500, 10000])
        #expect(history.first?.counterparty == AccountID(1002) && history.first?.note == "rent")
        let month = CalendarMonth(containing: Timestamp(milliseconds: february))
        let page = try StatementRecords.page(db, account: AccountID(1001), month: month, after: nil, limit: 10)
        #expect([page.totals.opening, page.totals.closing, page.totals.credits, page.totals.debits].map(\.cents)
                == [0, 7500, 10000, 2500])
        #expect(page.totals.count == 2 && page.entries.count == 2)
        let activity = try StatementRecords.activity(db, month: month)
        #expect(activity.transfers.count == 1 && activity.transfers.total == Money(cents: 2500))
        // The several-writer form (a horizon; none bounds here) reads every commit order on both engines.
        #expect(try ReceiptRecords.transactions(db, after: .start, horizon: .max, limit: 10).map(\.balance.cents) == [10000, 7500])
        try ReceiptRecords.skipAll(db)
        #expect(try ReceiptRecords.cursor(db).transaction == TransactionID(2))
        #expect(try StaffRecords.transactions(db, TransactionFilter(user: UserID(8)), limit: 10, before: nil)
            .map(\.id) == [TransactionID(2)])
        #expect(try StaffRecords.transactions(db, TransactionFilter(kind: .deposit), limit: 10, before: nil)
            .map(\.id) == [TransactionID(1)])
    }
}
