import BankCore
import BankPostgres
import Testing

/// How the ledger's statements are planned: by key, however the tables looked when a session first planned.
struct LedgerPlanTests {
    /// A session plans its statements and foreign-key checks on a young database (three accounts), the
    /// accounts then grow to thousands, and money keeps moving: no batch scans `accounts` whole (each insert's
    /// foreign-key check and the balance update look their rows up by key).
    @Test func moneyOnAGrownDatabaseDoesNotScanTheAccounts() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let bob = UserID(2)
        let payer = try await bank.fundedAccount(owner: alice, cents: 1_000_000)
        let payee = try await bank.fundedAccount(owner: bob, cents: 0)
        // The first batches plan (and cache) everything while `accounts` holds three rows.
        for index in 0..<8 { try await Self.pay(bank.ledger, from: payer, to: payee, key: "young-\(index)", by: alice) }
        try await bank.ledger.withConnection { connection throws(PostgresError) in
            try connection.execute("""
                INSERT INTO accounts(id, owner_id, kind, name, created_at)
                SELECT g, 2, 'customer', 'grown', 0 FROM generate_series(100000, 104999) g
                """)
        }
        let before = try await Self.accountScans(bank)
        for index in 0..<20 { try await Self.pay(bank.ledger, from: payer, to: payee, key: "grown-\(index)", by: alice) }
        let after = try await Self.accountScans(bank)
        #expect(after - before == 0, "sequential scans of accounts during 20 transfers: \(after - before)")
        #expect(try await bank.ledger.balance(of: payee) == Money(cents: 28 * 100))
        #expect(try await bank.ledger.verify() == [])
    }

    private static func pay(_ ledger: PostgresLedger, from: AccountID, to: AccountID, key: String,
                            by user: UserID) async throws {
        let results = await ledger.apply([LedgerOperation(.transfer(from: from, to: to, amount: Money(cents: 100)),
                                                          by: user, idempotencyKey: key)])
        _ = try results[0].get()
    }

    /// `seq_scan` of `accounts` as the statistics hold it once the ledger's session has reported its own
    /// (a session reports at most once a second unless told to at its next idle moment).
    private static func accountScans(_ bank: PostgresFixture) async throws -> Int64 {
        try await bank.ledger.withConnection { connection throws(PostgresError) in
            _ = try connection.query("SELECT pg_stat_force_next_flush()")
        }
        let observer = try PostgresConnection(conninfo: bank.peer.conninfo)
        _ = try observer.query("SELECT pg_stat_clear_snapshot()")
        let rows = try observer.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'accounts'")
        return rows.int64(0, 0)
    }
}
