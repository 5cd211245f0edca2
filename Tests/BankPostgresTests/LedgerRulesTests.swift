import BankCore
import BankPostgres
import Testing

/// BankCore's rules, applied inside PostgreSQL transactions.
struct LedgerRulesTests {
    /// A batch commits its valid operations; an overdraft and an unknown account fail alone, changing nothing.
    @Test func rejectedOperationsFailAloneInTheirBatch() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1), bob = UserID(2)
        let a = try await bank.fundedAccount(owner: alice, cents: 10_000)
        let b = try await bank.fundedAccount(owner: bob, cents: 0)
        let results = await bank.ledger.apply([
            LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 4_000)), by: alice),
            LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 7_000)), by: alice),
            LedgerOperation(.transfer(from: a, to: AccountID(99_999), amount: Money(cents: 1)), by: alice),
            LedgerOperation(.withdraw(account: b, amount: Money(cents: 1_000)), by: alice),
            LedgerOperation(.withdraw(account: b, amount: Money(cents: 1_000)), by: bob),
        ])
        #expect(try results[0].get().balance == Money(cents: 6_000))
        #expect(results[1].failureCode == .insufficientFunds)
        #expect(results[2].failureCode == .notFound)
        #expect(results[3].failureCode == .notFound, "another customer's account is not found")
        #expect(try results[4].get().balance == Money(cents: 3_000))
        #expect(try await bank.ledger.balance(of: a) == Money(cents: 6_000))
        #expect(try await bank.ledger.balance(of: b) == Money(cents: 3_000))
        #expect(try await bank.ledger.verify() == [])
    }

    /// A locked account refuses to pay; the payer's stream gets balance and transfer events with gapless seqs.
    @Test func lockedAccountIsRefusedAndEventsAreNumbered() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1), bob = UserID(2)
        let a = try await bank.fundedAccount(owner: alice, cents: 5_000)
        let b = try await bank.fundedAccount(owner: bob, cents: 0)
        let paid = try await bank.ledger.apply([
            LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 100)), by: alice),
        ])[0].get()
        // Deposit: balance seq 1; transfer: balance seq 2, transfer seq 3 on the payer's stream.
        #expect(paid.events.map(\.seq) == [2, 1, 3, 2])
        #expect(paid.events.map(\.kind) == ["balance", "balance", "transfer", "transfer"])
        try await bank.ledger.setStatus(.locked, of: a)
        let refused = await bank.ledger.apply([
            LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 100)), by: alice),
        ])
        #expect(refused[0].failureCode == .accountLocked)
        #expect(try await bank.ledger.verify() == [])
    }

    /// Postings are append-only: the database itself refuses to change or delete one.
    @Test func postingsCannotBeUpdatedOrDeleted() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        _ = try await bank.fundedAccount(owner: UserID(1), cents: 500)
        let update = await refusal(bank, "UPDATE postings SET amount = amount * 2")
        let delete = await refusal(bank, "DELETE FROM transactions")
        #expect(update == "23001")
        #expect(delete == "23001")
        #expect(try await bank.ledger.verify() == [])
    }

    private func refusal(_ bank: PostgresFixture, _ sql: String) async -> String? {
        do {
            try await bank.ledger.withConnection { connection throws(PostgresError) in
                try connection.execute(sql)
            }
            return nil
        } catch {
            return error.sqlState
        }
    }
}

extension Result where Failure == BankError {
    var failureCode: ErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
