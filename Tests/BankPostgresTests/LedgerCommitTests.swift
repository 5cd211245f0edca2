import BankCore
import BankPostgres
import BankStorage
import Testing

/// How a ledger batch's COMMIT ends, as its callers are told: committed, rolled back by the server, or unknown
/// (the connection dropped during it), and backdated batches.
struct LedgerCommitTests {
    /// A follow-up that swallows a failed statement leaves the transaction aborted: the server answers COMMIT
    /// with ROLLBACK (no error). The operation must fail (nothing is stored), not be reported applied.
    @Test func commitAnsweredWithRollbackIsAFailure() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let account = try await bank.fundedAccount(owner: alice, cents: 1_000)
        let swallowing = LedgerFollowUp(events: { _, _, _ in [] }, write: { db, _ in
            _ = try? db.execute("SELECT 1 / 0")
        })
        let deposit = LedgerOperation(.deposit(account: account, amount: Money(cents: 500)), by: alice,
                                      idempotencyKey: "swallowed", followUp: swallowing)
        let result = await bank.ledger.apply([deposit])[0]
        #expect(result.failureCode == .internalError, "\(result)")
        #expect(try await bank.ledger.balance(of: account) == Money(cents: 1_000))
        // Nothing was stored, the key included: the same key applies once the follow-up behaves.
        let again = LedgerOperation(.deposit(account: account, amount: Money(cents: 500)), by: alice,
                                    idempotencyKey: "swallowed")
        #expect(try await bank.ledger.apply([again])[0].get().replayed == false)
        #expect(try await bank.ledger.balance(of: account) == Money(cents: 1_500))
        #expect(try await bank.ledger.verify() == [])
    }

    /// A connection lost during COMMIT (a deferred trigger ends the session there, once) is `unavailable` with
    /// `outcomeUnknown` set: a typed case, not a message to read. The same key sent again is applied once.
    @Test func connectionLostDuringCommitIsOutcomeUnknown() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let account = try await bank.fundedAccount(owner: alice, cents: 1_000)
        try await bank.ledger.withConnection { connection throws(PostgresError) in
            try connection.execute(Self.loseTheConnectionOnceAtCommit(table: "transactions", when: "NEW.amount = 777"))
        }
        let deposit = LedgerOperation(.deposit(account: account, amount: Money(cents: 777)), by: alice,
                                      idempotencyKey: "lost-commit")
        let lost = await bank.ledger.apply([deposit])[0]
        guard case .failure(let error) = lost else {
            Issue.record("a COMMIT whose connection dropped was reported applied: \(lost)")
            return
        }
        #expect(error.code == .unavailable && error.outcomeUnknown)
        let retry = try await bank.ledger.apply([deposit])[0].get()
        #expect(!retry.replayed && retry.balance == Money(cents: 1_777))
        #expect(try await bank.ledger.verify() == [])
    }

    /// A backdated operation's transaction, postings, events and outcome carry its time, not now; operations
    /// of the present queued around it keep theirs.
    @Test func backdatedOperationCarriesItsTime() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let alice = UserID(1)
        let account = try await bank.fundedAccount(owner: alice, cents: 0)
        let then = Timestamp(milliseconds: 1_767_225_600_000)  // 2026-01-01T00:00:00Z
        let deposit = LedgerOperation(.deposit(account: account, amount: Money(cents: 300)), by: alice)
        async let present = bank.ledger.apply([deposit])
        let backdated = try await bank.ledger.apply([deposit], at: then)[0].get()
        let now = try await present[0].get()
        #expect(backdated.at == then && now.at != then)
        let event = try #require(backdated.events.first)
        let stamps = try await bank.ledger.withConnection { connection throws(PostgresError) -> [Int64] in
            let rows = try connection.query("""
                SELECT created_at FROM transactions WHERE id = $1::bigint
                UNION ALL SELECT created_at FROM postings WHERE txn_id = $1::bigint
                UNION ALL SELECT created_at FROM events WHERE stream = $2 AND seq = $3::bigint
                """, [String(backdated.transaction.rawValue), event.stream.description, String(event.seq)])
            return (0..<rows.rowCount).map { rows.int64($0, 0) }
        }
        #expect(stamps.count == 4 && stamps.allSatisfy { $0 == then.milliseconds }, "\(stamps)")
    }

    /// SQL that makes the first COMMIT holding a row of `table` matching `when` end its own session (a
    /// deferred constraint trigger runs inside COMMIT); later ones commit (a sequence is not rolled back).
    static func loseTheConnectionOnceAtCommit(table: String, when condition: String) -> String {
        """
        CREATE SEQUENCE lose_once;
        CREATE FUNCTION lose_connection() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('lose_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER lose_connection_at_commit AFTER INSERT ON \(table)
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (\(condition)) EXECUTE FUNCTION lose_connection();
        """
    }
}
