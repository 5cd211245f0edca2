import BankCore

/// A customer account as stored, with its committed balance.
public struct AccountRecord: Sendable, Equatable {
    public let id: AccountID
    public let owner: UserID?
    public let name: String
    public let currency: String
    public let status: AccountStatus
    public let balance: Money
    public let createdAt: Timestamp

    public init(id: AccountID, owner: UserID?, name: String, currency: String, status: AccountStatus, balance: Money,
                createdAt: Timestamp) {
        self.id = id
        self.owner = owner
        self.name = name
        self.currency = currency
        self.status = status
        self.balance = balance
        self.createdAt = createdAt
    }
}

/// A transaction as stored.
public struct TransactionRecord: Sendable, Equatable {
    public let id: TransactionID
    public let kind: TransactionKind
    public let user: UserID
    public let amount: Money
    public let debited: AccountID
    public let credited: AccountID
    public let note: String?
    public let at: Timestamp
}

/// What the ledger service needs in memory at start-up.
public struct LedgerSnapshot: Sendable {
    public let state: LedgerState
    public let idempotency: IdempotencyRegistry
    /// The open savings goals' details (their balances are in `state`).
    public let goals: [GoalRecord]
}

/// Reads and writes of accounts, transactions and postings. Statements are prepared once per connection.
public enum LedgerRecords {
    /// Loads every account, the last transaction id and the idempotency keys: those of transactions made at
    /// or after `recentSince` as full entries, older ones only as hashes (`IdempotencyRegistry`). Without
    /// `recentSince`, every key as a full entry.
    public static func load(_ db: any SQLDatabase,
                            recentSince: Timestamp = Timestamp(milliseconds: .min)) throws -> LedgerSnapshot {
        let accounts = try db.prepare("SELECT id, owner_id, kind, status, balance, parent_id FROM accounts").query { row in
            LedgerState.Account(id: AccountID(row.int64(0)), owner: row.optionalInt64(1).map(UserID.init),
                                kind: AccountKind(rawValue: row.string(2)) ?? .customer,
                                status: AccountStatus(rawValue: row.string(3)) ?? .open,
                                balance: Money(cents: row.int64(4)), parent: row.optionalInt64(5).map(AccountID.init))
        }
        let lastTransaction = try db.prepare("SELECT COALESCE(MAX(id), 0) FROM transactions").queryOne { $0.int64(0) } ?? 0
        var registry = IdempotencyRegistry()
        registry.addStored(try db.prepare("""
            SELECT user_id, idempotency_key FROM transactions WHERE idempotency_key IS NOT NULL AND created_at < ?
            """).query(recentSince.milliseconds) { row in
            StoredKeySet.hash(user: UserID(row.int64(0)), key: row.string(1))
        })
        let keyed = try db.prepare("""
            SELECT id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, created_at
            FROM transactions WHERE idempotency_key IS NOT NULL AND created_at >= ?
            """).query(recentSince.milliseconds) { row in (transaction(row), row.string(7)) }
        for (record, key) in keyed {
            let entry = IdempotencyRegistry.Entry(fingerprint: .init(record.command, note: record.note),
                                                  transaction: record.id)
            registry.record(user: record.user, key: key, entry: entry, at: record.at)
        }
        return LedgerSnapshot(state: LedgerState(accounts: accounts, lastTransactionID: TransactionID(lastTransaction)),
                              idempotency: registry, goals: try GoalRecords.openGoals(db))
    }

    /// Checks the stored ledger: every transaction's postings sum to zero, every balance (customer, cash and
    /// savings-goal accounts alike) equals the sum of its postings, all balances sum to zero, every goal
    /// account belongs to a customer account of its owner and holds nothing once closed, and every account
    /// stream's seqs run without a gap. Returns what is wrong; empty when all holds.
    public static func violations(_ db: any SQLDatabase) throws -> [String] {
        var problems: [String] = []
        try db.prepare("SELECT txn_id, SUM(amount) FROM postings GROUP BY txn_id HAVING SUM(amount) <> 0 LIMIT 10")
            .query { row in problems.append("transaction \(row.int64(0)) postings sum to \(row.int64(1))") }
        try db.prepare("""
            SELECT a.id, a.balance, COALESCE(p.total, 0) FROM accounts a
            LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) p ON p.account_id = a.id
            WHERE a.balance <> COALESCE(p.total, 0) LIMIT 10
            """).query { row in
            problems.append("account \(row.int64(0)) balance \(row.int64(1)) but postings sum to \(row.int64(2))")
        }
        let total = try db.prepare("SELECT COALESCE(SUM(balance), 0) FROM accounts").queryOne { $0.int64(0) } ?? 0
        if total != 0 { problems.append("balances sum to \(total), not zero") }
        try db.prepare("""
            SELECT g.id, g.balance FROM accounts g LEFT JOIN accounts p ON p.id = g.parent_id
            WHERE g.kind = 'goal' AND (p.kind IS DISTINCT FROM 'customer' OR p.owner_id IS DISTINCT FROM g.owner_id
                                       OR (g.status = 'closed' AND g.balance <> 0)) LIMIT 10
            """).query { row in
            problems.append("goal account \(row.int64(0)) (balance \(row.int64(1))) is not an open goal of its owner's account")
        }
        try db.prepare(accountStreamGaps).query { row in
            problems.append("stream account:\(row.int64(0)) has seq \(row.int64(1)) after \(row.int64(2))")
        }
        return problems
    }

    /// Account streams whose seqs, derived from postings (`DerivedEvents`) and stored as rows together, do not
    /// run 1, 2, 3, … without a gap or a repeat: (account, seq, the seq before it).
    private static let accountStreamGaps = """
        WITH seqs(account, seq) AS (
            SELECT account_id, seq FROM postings WHERE seq IS NOT NULL
            UNION ALL SELECT p.account_id, p.seq + 1 FROM postings p JOIN transactions t ON t.id = p.txn_id
                WHERE p.seq IS NOT NULL AND t.kind = 'transfer'
            UNION ALL SELECT CAST(substr(stream, 9) AS BIGINT), seq FROM events WHERE stream LIKE 'account:%')
        SELECT account, seq, previous FROM (
            SELECT account, seq, LAG(seq, 1, 0) OVER (PARTITION BY account ORDER BY seq) AS previous FROM seqs) AS ordered
        WHERE seq <> previous + 1 LIMIT 10
        """

    public static func insertAccount(_ db: any SQLDatabase, _ account: LedgerState.Account, name: String,
                                     at: Timestamp) throws {
        try db.prepare("""
            INSERT INTO accounts(id, owner_id, kind, name, status, balance, created_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).run(account.id.rawValue, account.owner?.rawValue, account.kind.rawValue, name, account.status.rawValue,
                     account.balance.cents, at.milliseconds, account.parent?.rawValue)
    }

    public static func updateStatus(_ db: any SQLDatabase, _ account: AccountID, _ status: AccountStatus) throws {
        try db.prepare("UPDATE accounts SET status = ? WHERE id = ?").run(status.rawValue, account.rawValue)
    }

    /// Writes a transaction and its postings. Balances are written separately, once per account per commit.
    /// `seqs` (one per posting, nil for the cash account's) are the seqs of the postings' `balance` events on
    /// their accounts' streams, from which those events are derived (`DerivedEvents`); without them the
    /// postings carry no events.
    public static func insertTransaction(_ db: any SQLDatabase, _ txn: AppliedTransaction,
                                         idempotencyKey: String?, seqs: [Int64?] = []) throws {
        precondition(seqs.isEmpty || seqs.count == txn.postings.count, "one seq (or nil) per posting")
        let command = txn.command
        try db.prepare("""
            INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run(txn.id.rawValue, txn.kind.rawValue, txn.userID.rawValue, command.amount.cents,
                     command.debited.rawValue, command.credited.rawValue, txn.note, idempotencyKey, txn.at.milliseconds)
        let posting = try db.prepare("""
            INSERT INTO postings(txn_id, account_id, amount, balance_after, created_at, seq) VALUES (?, ?, ?, ?, ?, ?)
            """)
        for (index, leg) in txn.postings.enumerated() {
            try posting.run(txn.id.rawValue, leg.account.rawValue, leg.amount.cents, leg.balanceAfter.cents,
                            txn.at.milliseconds, seqs.isEmpty ? nil : seqs[index])
        }
    }

    public static func updateBalance(_ db: any SQLDatabase, _ account: AccountID, _ balance: Money) throws {
        try db.prepare("UPDATE accounts SET balance = ? WHERE id = ?").run(balance.cents, account.rawValue)
        precondition(db.changes == 1, "balance update must touch exactly one account")
    }

    /// The customer accounts of `owner` (not their savings-goal accounts), oldest first.
    public static func accounts(_ db: any SQLDatabase, ownedBy owner: UserID) throws -> [AccountRecord] {
        try db.prepare(accountColumns + " WHERE owner_id = ? AND kind = 'customer' ORDER BY id").query(owner.rawValue, row: account)
    }

    public static func account(_ db: any SQLDatabase, _ id: AccountID) throws -> AccountRecord? {
        try db.prepare(accountColumns + " WHERE id = ?").queryOne(id.rawValue, row: account)
    }

    public static func transaction(_ db: any SQLDatabase, _ id: TransactionID) throws -> TransactionRecord? {
        try db.prepare("""
            SELECT id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, created_at
            FROM transactions WHERE id = ?
            """).queryOne(id.rawValue, row: transaction)
    }

    /// The transaction `user` made with idempotency key `key`, if any (the slow path of an old key's retry).
    public static func transaction(_ db: any SQLDatabase, user: UserID, idempotencyKey key: String) throws -> TransactionRecord? {
        try db.prepare("""
            SELECT id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, created_at
            FROM transactions WHERE user_id = ? AND idempotency_key = ?
            """).queryOne(user.rawValue, key, row: transaction)
    }

    /// The balance an account had right after transaction `txn` (from its posting).
    public static func balance(_ db: any SQLDatabase, of account: AccountID, after txn: TransactionID) throws -> Money? {
        try db.prepare("SELECT balance_after FROM postings WHERE txn_id = ? AND account_id = ?")
            .queryOne(txn.rawValue, account.rawValue) { Money(cents: $0.int64(0)) }
    }

    private static let accountColumns = "SELECT id, owner_id, name, currency, status, balance, created_at FROM accounts"

    private static func account(_ row: any SQLRow) -> AccountRecord {
        AccountRecord(id: AccountID(row.int64(0)), owner: row.optionalInt64(1).map(UserID.init), name: row.string(2),
                      currency: row.string(3), status: AccountStatus(rawValue: row.string(4)) ?? .open,
                      balance: Money(cents: row.int64(5)), createdAt: Timestamp(milliseconds: row.int64(6)))
    }

    private static func transaction(_ row: any SQLRow) -> TransactionRecord {
        TransactionRecord(id: TransactionID(row.int64(0)), kind: TransactionKind(rawValue: row.string(1)) ?? .transfer,
                          user: UserID(row.int64(2)), amount: Money(cents: row.int64(3)),
                          debited: AccountID(row.int64(4)), credited: AccountID(row.int64(5)),
                          note: row.optionalString(6), at: Timestamp(milliseconds: row.int64(8)))
    }
}

extension TransactionRecord {
    /// The command this transaction carried out.
    public var command: LedgerCommand {
        LedgerCommand(stored: kind, debited: debited, credited: credited, amount: amount)
    }
}
