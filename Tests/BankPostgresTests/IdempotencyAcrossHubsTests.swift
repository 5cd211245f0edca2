import BankCore
import BankPostgres
import Testing

/// Idempotency keys are unique in the database: a retry on another connection (another hub) is replayed.
struct IdempotencyAcrossHubsTests {
    /// The same key sent to two hubs moves money once; the second answer is the first's, marked replayed.
    @Test func retryOnAnotherConnectionIsReplayed() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let other = try bank.secondLedger()
        defer { other.close() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 1_000)
        let b = try await bank.fundedAccount(owner: UserID(2), cents: 0)
        let send = LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 300)), by: alice, note: "rent",
                                   idempotencyKey: "k-1")
        let first = try await bank.ledger.apply([send])[0].get()
        let retry = try await other.apply([send])[0].get()
        #expect(!first.replayed && retry.replayed)
        #expect(retry.transaction == first.transaction && retry.balance == Money(cents: 700))
        let changed = LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 301)), by: alice, note: "rent",
                                      idempotencyKey: "k-1")
        #expect(await other.apply([changed])[0].failureCode == .conflict)
        #expect(try await bank.ledger.balance(of: a) == Money(cents: 700))
    }

    /// Two hubs racing with the same keys at the same moment: each key moves money exactly once.
    @Test func concurrentSameKeysMoveMoneyOnce() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let other = try bank.secondLedger()
        defer { other.close() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 1_000_000)
        let b = try await bank.fundedAccount(owner: UserID(2), cents: 0)
        let rounds = 40
        let operations = (0..<rounds).map { round in
            LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 10)), by: alice,
                            idempotencyKey: "race-\(round)")
        }
        async let fromFirst = applyOneByOne(bank.ledger, operations)
        async let fromSecond = applyOneByOne(other, operations.reversed())
        let answers = try await fromFirst + fromSecond
        #expect(answers.filter { !$0.replayed }.count == rounds, "each key applied once, replayed once")
        #expect(Set(answers.map(\.transaction)).count == rounds)
        #expect(try await bank.ledger.balance(of: b) == Money(cents: 10 * Int64(rounds)))
        #expect(try await bank.ledger.verify() == [])
    }

    /// Claims made before the cutoff are pruned (those after it stay), and a key whose claim was pruned is still
    /// the same key: retried on another hub it replays its transaction (another amount is `conflict`), nothing
    /// moves twice.
    @Test func keyWhoseClaimWasPrunedStillReplays() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let other = try bank.secondLedger()
        defer { other.close() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 1_000)
        let b = try await bank.fundedAccount(owner: UserID(2), cents: 0)
        let send = LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 300)), by: alice, idempotencyKey: "old")
        let first = try await bank.ledger.apply([send])[0].get()
        let claims = { () async throws -> Int64 in
            try await bank.ledger.withConnection { connection throws(PostgresError) in
                try connection.query("SELECT count(*) FROM idempotency_keys").int64(0, 0)
            }
        }
        let windowStart = Timestamp(milliseconds: first.at.milliseconds - 60_000)
        #expect(try await other.pruneKeyClaims(claimedBefore: windowStart) == 0)
        #expect(try await claims() == 1)
        let past = Timestamp(milliseconds: first.at.milliseconds + 60_000)
        #expect(try await other.pruneKeyClaims(claimedBefore: past) == 1)
        #expect(try await claims() == 0)
        let retry = try await other.apply([send])[0].get()
        #expect(retry.replayed && retry.transaction == first.transaction && retry.balance == Money(cents: 700))
        let changed = LedgerOperation(.transfer(from: a, to: b, amount: Money(cents: 301)), by: alice,
                                      idempotencyKey: "old")
        #expect(await bank.ledger.apply([changed])[0].failureCode == .conflict)
        #expect(try await bank.ledger.balance(of: b) == Money(cents: 300))
        #expect(try await bank.ledger.verify() == [])
    }

    /// A rejected keyed request does not use up its key: sent again after a deposit, it goes through.
    @Test func rejectedKeyCanBeSentAgain() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let a = try await bank.fundedAccount(owner: alice, cents: 0)
        let withdraw = LedgerOperation(.withdraw(account: a, amount: Money(cents: 50)), by: alice, idempotencyKey: "w")
        #expect(await bank.ledger.apply([withdraw])[0].failureCode == .insufficientFunds)
        _ = try await bank.ledger.apply([LedgerOperation(.deposit(account: a, amount: Money(cents: 80)), by: alice)])[0].get()
        let again = await bank.ledger.apply([withdraw, withdraw])
        #expect(try again[0].get().replayed == false && again[1].get().replayed)
        #expect(try await bank.ledger.balance(of: a) == Money(cents: 30))
    }

    private func applyOneByOne(_ ledger: PostgresLedger, _ operations: [LedgerOperation]) async throws -> [LedgerOutcome] {
        var outcomes: [LedgerOutcome] = []
        for operation in operations { outcomes.append(try await ledger.apply([operation])[0].get()) }
        return outcomes
    }
}
