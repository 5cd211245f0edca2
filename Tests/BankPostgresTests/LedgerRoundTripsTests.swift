import BankCore
import BankPostgres
import Testing

/// What a money batch costs on the wire: a fixed number of round trips whatever it holds (the lock on its
/// accounts is held for the last two of them), and a statement failing in one of its pipelines fails the batch
/// alone, leaving the connection usable.
struct LedgerRoundTripsTests {
    /// Fifty operations with keys (a replay, a rejected one among them) in one batch: BEGIN with the keys and
    /// the locks, the ids with the seqs, the write with COMMIT — three round trips, where they were eight (ten here:
    /// the key statements' first use prepared them in round trips of their own; now in the pipeline).
    @Test func aBatchCostsThreeRoundTripsWhateverItHolds() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let bob = UserID(2)
        let payer = try await bank.fundedAccount(owner: alice, cents: 10_000)
        let payee = try await bank.fundedAccount(owner: bob, cents: 0)
        var operations = (0..<48).map { index in
            LedgerOperation(.transfer(from: payer, to: payee, amount: Money(cents: 100)), by: alice,
                            idempotencyKey: "pay-\(index)")
        }
        operations.append(operations[0])  // the same key and arguments: replayed, not paid twice
        operations.append(LedgerOperation(.transfer(from: payer, to: payee, amount: Money(cents: 1_000_000)),
                                          by: alice, idempotencyKey: "too-much"))
        let before = try await Self.roundTrips(bank.ledger)
        let results = await bank.ledger.apply(operations)
        let after = try await Self.roundTrips(bank.ledger)
        #expect(after - before == 3, "round trips of one batch: \(after - before)")
        #expect(results.prefix(48).allSatisfy { (try? $0.get().replayed) == false })
        #expect(try results[48].get().replayed)
        #expect(results[49].failureCode == .insufficientFunds, "\(results[49])")
        #expect(try await bank.ledger.balance(of: payer) == Money(cents: 10_000 - 4_800))
        #expect(try await bank.ledger.balance(of: payee) == Money(cents: 4_800))
        // The payer's stream got a balance and a transfer event per transfer, numbered on without a gap.
        let seqs = try results.prefix(48).flatMap { try $0.get().events.filter { $0.stream == .account(payer) }.map(\.seq) }
        #expect(seqs.count == 96 && zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(seqs)")
        #expect(try await bank.ledger.verify() == [])
    }

    /// The write fails inside its pipeline (a trigger refuses one batch's events): COMMIT is skipped, the batch
    /// rolls back and fails, and the next batch on the same connection commits, its keys claimed afresh.
    @Test func aStatementFailingInThePipelineFailsTheBatchAlone() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let account = try await bank.fundedAccount(owner: alice, cents: 1_000)
        try await bank.ledger.withConnection { connection throws(PostgresError) in
            try connection.execute("""
                CREATE SEQUENCE refuse_once;
                CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('refuse_once') = 1 THEN RAISE EXCEPTION 'refused once'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events();
                """)
        }
        let deposit = LedgerOperation(.deposit(account: account, amount: Money(cents: 250)), by: alice,
                                      idempotencyKey: "refused-once")
        let refused = await bank.ledger.apply([deposit])[0]
        #expect(refused.failureCode == .internalError, "\(refused)")
        #expect(try await bank.ledger.balance(of: account) == Money(cents: 1_000))
        let again = try await bank.ledger.apply([deposit])[0].get()
        #expect(!again.replayed && again.balance == Money(cents: 1_250))
        #expect(try await bank.ledger.verify() == [])
    }

    private static func roundTrips(_ ledger: PostgresLedger) async throws -> Int {
        try await ledger.withConnection { connection throws(PostgresError) in connection.roundTrips }
    }
}
