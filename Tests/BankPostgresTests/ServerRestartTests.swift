import BankCore
import BankPostgres
import Testing

/// The database going away and coming back.
struct ServerRestartTests {
    /// While the server is down every call fails with `unavailable` and changes nothing; once it is back the
    /// same ledger object works again by itself, and nothing committed before was lost.
    @Test func unavailableWhileDownAndRecoversAfter() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 1_000)
        let deposit = LedgerOperation(.deposit(account: a, amount: Money(cents: 5)), by: alice)
        try bank.peer.stopServer()
        let whileDown = await bank.ledger.apply([deposit, deposit])
        #expect(whileDown.allSatisfy { $0.failureCode == .unavailable })
        #expect(await bank.ledger.apply([deposit])[0].failureCode == .unavailable)
        try bank.peer.startServer()
        let after = try await bank.ledger.apply([deposit])[0].get()
        #expect(after.balance == Money(cents: 1_005))
        #expect(try await bank.ledger.verify() == [])
    }
}
