import BankCore
import BankStorage

/// What a transaction of `PostgresLedger.transact` may do before and after its money operations: lock accounts
/// (building BankCore's rules' state from the locked rows), take account ids, and read and write rows through
/// `db`. Lives on the ledger's thread for one attempt of one transaction.
public final class LedgerTransactionContext {
    /// The transaction's connection as the records use it.
    public let db: any SQLDatabase
    /// The transaction's time (also its operations' and events').
    public let at: Timestamp
    private let connection: PostgresConnection

    init(_ connection: PostgresConnection, at: Timestamp) {
        self.connection = connection
        self.db = PostgresSQLConnection(connection)
        self.at = at
    }

    /// Locks `ids` and every goal account of `goalsOf` (in id order, like a batch) and returns BankCore's
    /// state over them, joined by the balancing account (`LockedAccounts`): the rules run on it as on the lone
    /// hub's whole ledger. An id not in the database is absent (the rules answer `not_found`).
    public func lockAccounts(_ ids: [AccountID], goalsOf owner: UserID?) throws(PostgresError) -> LedgerState {
        let rows = try connection.query(LedgerSQL.lockAccountsAndGoals, [
            PostgresArray.integers(ids.map(\.rawValue).sorted()), owner.map { String($0.rawValue) },
        ])
        return LockedAccounts(rows: rows).state
    }

    /// A new account id from the `account_ids` sequence (unique across hubs; a rolled-back one is never reused).
    public func nextAccountID() throws(PostgresError) -> AccountID {
        AccountID(try connection.query("SELECT nextval('account_ids')").int64(0, 0))
    }
}

/// A unit of work in one transaction of its own on the ledger's connection (`PostgresLedger.transact`):
/// `prepare` runs first and names the money operations to apply after it (they are checked and written as in a
/// batch, keys and all), `finish` runs last with their results and names the events to append. A `BankError`
/// either throws rolls everything back and is the answer; a lost race runs both again from the start.
public struct LedgerTransaction: Sendable {
    /// The transaction's time (`LedgerTransactionContext.at`): now when nil, else backdated (demo seeding).
    public let at: Timestamp?
    public let prepare: @Sendable (LedgerTransactionContext) throws -> [LedgerOperation]
    public let finish: @Sendable (LedgerTransactionContext, [Result<LedgerOutcome, BankError>]) throws -> [LedgerEventDraft]

    public init(at: Timestamp? = nil, prepare: @escaping @Sendable (LedgerTransactionContext) throws -> [LedgerOperation],
                finish: @escaping @Sendable (LedgerTransactionContext, [Result<LedgerOutcome, BankError>]) throws
                    -> [LedgerEventDraft]) {
        self.at = at
        self.prepare = prepare
        self.finish = finish
    }
}

/// What a committed `LedgerTransaction` did: its operations' results, and the events `finish` appended.
public struct LedgerTransactionOutcome: Sendable {
    public let results: [Result<LedgerOutcome, BankError>]
    public let events: [LedgerEvent]
}

/// The several-hub ledger's other operations: work beside money in one transaction, checks without applying,
/// and adopting a database a lone hub wrote.
extension PostgresLedger {
    /// Runs `work` as one transaction of its own, between batches; returns after COMMIT.
    public func transact(_ work: LedgerTransaction) async -> Result<LedgerTransactionOutcome, BankError> {
        do {
            // The refusal travels inside the value: `withConnection` throws only PostgresError.
            return try await withConnection { connection throws(PostgresError) in
                Self.retrying(on: connection) { () throws(LedgerBatch.Failure) -> LedgerTransactionOutcome in
                    try LedgerBatch.transaction(on: connection) {
                        let context = LedgerTransactionContext(connection, at: work.at ?? Self.now())
                        let operations = try work.prepare(context)
                        let results = operations.isEmpty ? []
                            : try LedgerBatch(operations: operations, at: context.at).body(connection, .around)
                        let events = try LedgerWrite.append(try work.finish(context, results), at: context.at,
                                                            on: connection)
                        return LedgerTransactionOutcome(results: results, events: events)
                    }
                }
            }
        } catch {
            return .failure(error.bankError)
        }
    }

    /// Checks `operation` against the rules on the committed rows, without locking or applying anything.
    /// True when it is the retry of a key used before with the same arguments (it would only replay);
    /// `conflict` when the key was used with different ones.
    public func check(_ operation: LedgerOperation) async throws(BankError) -> Bool {
        let answer: Result<Bool, BankError>
        do {
            answer = try await withConnection { connection throws(PostgresError) -> Result<Bool, BankError> in
                if let key = operation.userKey {
                    let rows = try connection.query(LedgerSQL.storedKeys, [
                        PostgresArray.integers([key.user.rawValue]), PostgresArray.texts([key.key]),
                    ])
                    if let stored = StoredTransaction.read(rows)[key] {
                        if let field = stored.fingerprint.firstDifference(from: operation.fingerprint) {
                            return .failure(BankError(.conflict, "idempotency_key \"\(key.key)\" was used with a "
                                                      + "different \(field)", field: field))
                        }
                        return .success(true)
                    }
                }
                let ids = Set([operation.command.reportedAccount, operation.command.debited, operation.command.credited])
                let rows = try connection.query(LedgerSQL.readAccounts, [PostgresArray.integers(ids.map(\.rawValue))])
                do throws(BankError) {
                    _ = try LockedAccounts(rows: rows).state.plan(operation.command, by: operation.user)
                    return .success(false)
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            throw error.bankError
        }
        return try answer.get()
    }

    /// Deletes the key claims (`idempotency_keys`) made before `cutoff`, at most `claimsPerStatementMax` per
    /// statement and `statementsPerCallMax` statements; returns how many went. Safe while any hub runs and for
    /// any cutoff: a used key's record is its transaction, which every claim reads (`IdempotencyClaims`), so a
    /// pruned key is still replayed, never applied again. The janitor passes its window (the lone hub's
    /// `idempotencyRecentMilliseconds`, 24 h), so what is pruned is a day old: no batch waits on it.
    public func pruneKeyClaims(claimedBefore cutoff: Timestamp) async throws(PostgresError) -> Int {
        var pruned = 0
        for _ in 0..<Self.statementsPerCallMax {
            // One statement per turn on the connection, so the money batches queued meanwhile run in between; each
            // is its own short transaction, holding the claims it deletes for that statement only.
            let count = try await withConnection { connection throws(PostgresError) in
                Int(try connection.query(LedgerSQL.pruneClaims, [String(cutoff.milliseconds),
                                                                 String(Self.claimsPerStatementMax)]).int64(0, 0))
            }
            pruned += count
            if count < Self.claimsPerStatementMax { break }
        }
        return pruned
    }

    /// Bounds of one `pruneKeyClaims`: a statement holds the ledger's connection (money batches queued behind it
    /// wait) for a few milliseconds; a call runs at most 100 of them. More is left for the next call.
    public static let claimsPerStatementMax = 1_000
    public static let statementsPerCallMax = 100

    /// Makes a database a lone hub wrote safe for several: stream counters at least each stream's last seq
    /// (stored and derived events), and the id sequences past the ids a lone hub chose itself. The lone hub's
    /// idempotency keys need nothing: a claim reads every key's transaction (`IdempotencyClaims`). Idempotent,
    /// and harmless while other hubs of the bank run (counters and sequences only move up); hubs starting
    /// together take turns (a transaction-level advisory lock).
    public func adoptLoneHubWrites() async throws(PostgresError) {
        try await withConnection { connection throws(PostgresError) in
            try connection.execute("BEGIN")
            do throws(PostgresError) {
                _ = try connection.query("SELECT pg_advisory_xact_lock(\(Self.adoptLockKey))")
                let heads: [String: Int64]
                do {
                    heads = try EventRecords.heads(PostgresSQLConnection(connection))
                } catch let error as PostgresError {
                    throw error
                } catch {
                    throw PostgresError(sqlState: nil, message: "could not read the stream heads: \(error)", sql: nil)
                }
                let names = heads.keys.sorted()
                _ = try connection.query("""
                    INSERT INTO stream_counters AS c(stream, last_seq)
                    SELECT stream, last FROM unnest($1::text[], $2::bigint[]) AS h(stream, last) ORDER BY stream
                    ON CONFLICT (stream) DO UPDATE SET last_seq = GREATEST(c.last_seq, EXCLUDED.last_seq)
                    """, [PostgresArray.texts(names), PostgresArray.integers(names.map { heads[$0]! })])
                for (sequence, table) in [("account_ids", "accounts"), ("transaction_ids", "transactions")] {
                    _ = try connection.query("""
                        SELECT setval('\(sequence)', m) FROM (SELECT max(id) AS m FROM \(table)) t
                        WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM \(sequence))
                        """)
                }
                try connection.commit()
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The advisory lock of `adoptLoneHubWrites` (distinct from the hub lock's key).
    static let adoptLockKey: Int64 = 0x4261_6E6B_4164_6F70
}
