import BankCore

/// Accounts and checks of the PostgreSQL ledger: opening an account, reading a balance, and `verify`.
extension PostgresLedger {
    /// Opens an empty customer account for `owner` (the id from the `account_ids` sequence).
    public func openAccount(owner: UserID, name: String = "Main") async throws(PostgresError) -> AccountID {
        try await withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                INSERT INTO accounts(id, owner_id, kind, name, created_at)
                VALUES (nextval('account_ids'), $1, 'customer', $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                RETURNING id
                """, [String(owner.rawValue), name])
            return AccountID(rows.int64(0, 0))
        }
    }

    /// Locks, unlocks or closes an account (for tests of the rules; the hub's account ops come later).
    public func setStatus(_ status: AccountStatus, of account: AccountID) async throws(PostgresError) {
        try await withConnection { connection throws(PostgresError) in
            let rows = try connection.query("UPDATE accounts SET status = $1 WHERE id = $2",
                                            [status.rawValue, String(account.rawValue)])
            precondition(rows.affectedRows <= 1, "ids are unique")
        }
    }

    /// The committed balance of `account`, or nil when there is no such account.
    public func balance(of account: AccountID) async throws(PostgresError) -> Money? {
        try await withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT balance FROM accounts WHERE id = $1", [String(account.rawValue)])
            return rows.rowCount == 0 ? nil : Money(cents: rows.int64(0, 0))
        }
    }

    /// Checks the stored ledger; returns what is wrong, empty when all holds: every transaction's postings sum
    /// to zero, every balance equals the sum of its postings, all balances sum to zero, no customer or goal
    /// balance is negative, every stream's seqs run 1, 2, 3, … and its counter equals its last seq.
    public func verify() async throws(PostgresError) -> [String] {
        try await withConnection { connection throws(PostgresError) in
            var problems: [String] = []
            for (sql, describe) in Self.checks {
                let rows = try connection.query(sql)
                problems += (0..<rows.rowCount).map { describe(rows, $0) }
            }
            return problems
        }
    }

    private static let checks: [(String, @Sendable (PostgresResult, Int) -> String)] = [
        ("SELECT txn_id, SUM(amount) FROM postings GROUP BY txn_id HAVING SUM(amount) <> 0 LIMIT 10",
         { "transaction \($0.int64($1, 0)) postings sum to \($0.int64($1, 1))" }),
        ("""
         SELECT a.id, a.balance, COALESCE(p.total, 0)::bigint FROM accounts a
         LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) p ON p.account_id = a.id
         WHERE a.balance <> COALESCE(p.total, 0) LIMIT 10
         """, { "account \($0.int64($1, 0)) balance \($0.int64($1, 1)) but postings sum to \($0.int64($1, 2))" }),
        ("SELECT SUM(balance)::bigint FROM accounts HAVING SUM(balance) <> 0",
         { "balances sum to \($0.int64($1, 0)), not zero" }),
        ("SELECT id, balance FROM accounts WHERE kind <> 'cash' AND balance < 0 LIMIT 10",
         { "account \($0.int64($1, 0)) holds \($0.int64($1, 1)) cents, below zero" }),
        ("""
         SELECT stream, seq, previous FROM (
             SELECT stream, seq, LAG(seq, 1, 0::bigint) OVER (PARTITION BY stream ORDER BY seq) AS previous FROM events) s
         WHERE seq <> previous + 1 LIMIT 10
         """, { "stream \($0.string($1, 0)) has seq \($0.int64($1, 1)) after \($0.int64($1, 2))" }),
        ("""
         SELECT c.stream, c.last_seq, COALESCE(e.last, 0)::bigint FROM stream_counters c
         LEFT JOIN (SELECT stream, MAX(seq) AS last FROM events GROUP BY stream) e ON e.stream = c.stream
         WHERE c.last_seq <> COALESCE(e.last, 0) LIMIT 10
         """, { "stream \($0.string($1, 0)) counter at \($0.int64($1, 1)) but its last event is \($0.int64($1, 2))" }),
    ]
}
