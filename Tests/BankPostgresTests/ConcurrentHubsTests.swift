import BankCore
import BankPostgres
import Testing

/// Two connections (two hubs) on the same accounts at once.
struct ConcurrentHubsTests {
    /// Random transfers in batches from two hubs over a few shared accounts: money conserved, no balance below
    /// zero, no deadlock or serialization error reaching a caller, every stream's seqs gapless.
    @Test func twoHubsHammeringTheSameAccounts() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let other = try bank.secondLedger()
        defer { other.close() }
        var accounts: [(UserID, AccountID)] = []
        for owner in 1...6 {
            accounts.append((UserID(Int64(owner)), try await bank.fundedAccount(owner: UserID(Int64(owner)), cents: 5_000)))
        }
        let shared = accounts
        async let first = hammer(bank.ledger, shared, seed: 1)
        async let second = hammer(other, shared, seed: 2)
        let errors = await first.union(second)
        #expect(errors.subtracting([.insufficientFunds]).isEmpty, "only overdrafts fail, got \(errors)")
        var total: Int64 = 0
        for (_, account) in accounts {
            let balance = try #require(try await bank.ledger.balance(of: account))
            #expect(balance.cents >= 0)
            total += balance.cents
        }
        #expect(total == 30_000, "money is conserved")
        #expect(try await bank.ledger.verify() == [])
    }

    /// 30 batches of 20 random transfers (some overdrafts); returns the error codes seen.
    private func hammer(_ ledger: PostgresLedger, _ accounts: [(UserID, AccountID)], seed: UInt64) async -> Set<ErrorCode> {
        var random = SplitMix64(seed: seed)
        var errors = Set<ErrorCode>()
        for _ in 0..<30 {
            let batch = (0..<20).map { _ in
                let from = accounts[Int(random.next() % UInt64(accounts.count))]
                var to = accounts[Int(random.next() % UInt64(accounts.count))]
                if to.1 == from.1 { to = accounts[(accounts.firstIndex { $0.1 == from.1 }! + 1) % accounts.count] }
                return LedgerOperation(.transfer(from: from.1, to: to.1, amount: Money(cents: Int64(random.next() % 3_000) + 1)),
                                       by: from.0)
            }
            for result in await ledger.apply(batch) {
                if case .failure(let error) = result { errors.insert(error.code) }
            }
        }
        return errors
    }
}
