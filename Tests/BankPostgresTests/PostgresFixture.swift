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
