import BankCore
import BankPostgres
import PostgresTestPeer

/// A throwaway server with one ledger connection (more on demand) and funded customer accounts.
struct PostgresFixture {
    let peer: PostgresPeer
    let ledger: PostgresLedger

    init() throws {
        peer = try PostgresPeer.start()
        do {
            ledger = try PostgresLedger(conninfo: peer.conninfo)
        } catch {
            peer.stop()
            throw error
        }
    }

    /// Another hub's ledger connection on the same database.
    func secondLedger() throws -> PostgresLedger {
        try PostgresLedger(conninfo: peer.conninfo)
    }

    /// Opens an account for `owner` and deposits `cents` into it.
    func fundedAccount(owner: UserID, cents: Int64) async throws -> AccountID {
        try await ledger.withConnection { connection throws(PostgresError) in
            // Accounts reference their owner (schema 2): a bare user with that id, once.
            _ = try connection.query("""
                INSERT INTO users(id, username, password_hash, created_at) VALUES ($1::bigint, 'owner-' || $1, '-', 0)
                ON CONFLICT DO NOTHING
                """, [String(owner.rawValue)])
        }
        let account = try await ledger.openAccount(owner: owner)
        if cents > 0 {
            let results = await ledger.apply([LedgerOperation(.deposit(account: account, amount: Money(cents: cents)),
                                                              by: owner)])
            _ = try results[0].get()
        }
        return account
    }

    func stop() {
        ledger.close()
        peer.stop()
    }
}
