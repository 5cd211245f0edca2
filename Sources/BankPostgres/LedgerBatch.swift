import BankCore

/// One group commit: many operations checked and applied inside ONE PostgreSQL transaction (one WAL flush).
///
/// 1. claim the idempotency keys (in key order), then read the committed transactions of all of them;
/// 2. lock every account named, in id order, and build the rules' state from them (`LockedAccounts`);
/// 3. run each operation through BankCore's rules in order: a rejected one fails alone, the others go on;
/// 4. take transaction ids and, locking the stream counters in name order, the events' seqs;
/// 5. write transactions, postings, events and balances in one statement, release rejected ops' keys; COMMIT.
/// A money batch alone costs three round trips whatever its size, each a pipeline (`PostgresConnection.pipeline`):
/// BEGIN with steps 1 and 2; the ids with the seqs (step 4); the write with COMMIT. An operation with a follow-up
/// takes two more (its events need its id before the seqs are taken, and its rows the seqs before COMMIT).
/// Runs on the ledger's connection thread.
struct LedgerBatch {
    /// What stopped a batch; nothing of it is committed, except perhaps after `commitUnknown`.
    enum Failure: Error {
        /// Rolled back (or never begun): every operation may be sent again.
        case failed(PostgresError)
        /// The connection broke during COMMIT: the batch may or may not be committed.
        case commitUnknown(PostgresError)
        /// The work itself refused (a rule of `PostgresLedger.transact`'s caller); rolled back, not retried.
        case refused(BankError)
    }

    /// What the rules decided for one operation before ids are known.
    private enum Decision {
        case rejected(BankError)
        /// Applied: the index into `applied`.
        case applied(Int)
        /// Same key and arguments as an earlier operation of this batch: its outcome again.
        case replayOfBatch(Int)
        case replayOfStored(LedgerOutcome)
    }

    let operations: [LedgerOperation]
    let at: Timestamp

    /// Sent right after every ledger transaction's BEGIN: its statements — and the foreign-key checks of its
    /// inserts, planned once per session and cached — look rows up by key, so the planner must not choose a
    /// sequential scan however small a table looked when it planned. On a young database (the accounts a few
    /// rows when a hub's session first planned, a thousand a minute later and updated thousands of times a
    /// second) it did, and each insert then walked every row version of `accounts`: ~2,500 scans a second at
    /// 1,000 transfers/s over three hubs (docs/scaling.md, "Figures"). `LOCAL`: only ledger transactions; the
    /// checks that read whole tables (`verify`) plan as usual.
    static let plannerSettings = "SET LOCAL enable_seqscan = off"

    /// Where a transaction's BEGIN and COMMIT go: in round trips of their own, around work that runs its own
    /// statements besides the batch's (`PostgresLedger.transact`), or `inside` the batch's first and last
    /// pipelines (a money batch alone, `run`).
    enum Bracket {
        case around
        case inside
    }

    func run(on connection: PostgresConnection) throws(Failure) -> [Result<LedgerOutcome, BankError>] {
        precondition(!operations.isEmpty, "a batch holds at least one operation")
        return try Self.transaction(on: connection, .inside) { try body(connection, .inside) }
    }

    /// Runs `work` as one transaction and says how it ended: a `BankError` it throws is `refused` (rolled back),
    /// any other error `failed` (rolled back), a connection lost during COMMIT `commitUnknown`. A COMMIT the
    /// server answered with ROLLBACK (a statement had failed and `work` swallowed the error, e.g. in a caller's
    /// follow-up) is `failed` too (`PostgresConnection.commit`): nothing of it is stored, so no result of it may
    /// be reported. With `.around` this sends BEGIN and COMMIT; with `.inside`, `work` does (`body`).
    static func transaction<T>(on connection: PostgresConnection, _ bracket: Bracket = .around,
                               _ work: () throws -> T) throws(Failure) -> T {
        do {
            if bracket == .around { try connection.execute("BEGIN; " + plannerSettings) }
            let result = try work()
            if bracket == .around { try commit(connection) }
            return result
        } catch let failure as Failure {
            // A COMMIT that failed or answered ROLLBACK left nothing open.
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw failure
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            if let refusal = error as? BankError { throw .refused(refusal) }
            throw .failed(error as? PostgresError ?? PostgresError(sqlState: nil, message: "\(error)", sql: nil))
        }
    }

    /// COMMIT in a round trip of its own.
    static func commit(_ connection: PostgresConnection) throws(Failure) {
        do {
            try connection.commit()
        } catch {
            throw committing(error)
        }
    }

    /// `steps` and then COMMIT, in one pipeline; returns the steps' results. A step that fails is `failed` (the
    /// COMMIT is skipped, the transaction stays open and aborted for the caller's ROLLBACK); a connection lost
    /// anywhere in it is `commitUnknown`, since the COMMIT may have run before the answers were lost.
    static func committing(_ steps: [PostgresConnection.PipelineStep],
                           on connection: PostgresConnection) throws(Failure) -> [PostgresResult] {
        do {
            var results = try connection.pipeline(steps + [.text("COMMIT")])
            try PostgresConnection.checkCommitted(results.removeLast())
            return results
        } catch {
            throw committing(error)
        }
    }

    private static func committing(_ error: PostgresError) -> Failure {
        error.kind == .connectionLost ? .commitUnknown(error) : .failed(error)
    }

    /// Runs statements before COMMIT: what they throw is `failed`.
    static func failing<T>(_ body: () throws(PostgresError) -> T) throws(Failure) -> T {
        do {
            return try body()
        } catch {
            throw .failed(error)
        }
    }

    /// Steps 1 to 5. Steps 1 and 2 go in one pipeline (the keys before the accounts: the lock order), after BEGIN
    /// when `bracket` is `.inside`, which also puts COMMIT in the last pipeline (`LedgerWrite.write`).
    func body(_ connection: PostgresConnection, _ bracket: Bracket) throws(Failure) -> [Result<LedgerOutcome, BankError>] {
        let keys = IdempotencyClaims.keys(operations)
        var steps: [PostgresConnection.PipelineStep] = bracket == .inside ? [.text("BEGIN"), .text(Self.plannerSettings)] : []
        let claimsAt = steps.count
        if !keys.isEmpty { steps += IdempotencyClaims.statements(keys, at: at) }
        steps.append(.prepared(LedgerSQL.lockAccounts, [PostgresArray.integers(accountIDs)]))
        let answers = try Self.failing { () throws(PostgresError) in try connection.pipeline(steps) }
        let (claimed, stored) = keys.isEmpty ? ([], [:])
            : IdempotencyClaims.read(claim: answers[claimsAt], stored: answers[claimsAt + 1])
        var locked = LockedAccounts(rows: answers[answers.count - 1])
        var applied: [(operation: LedgerOperation, transaction: AppliedTransaction)] = []
        var decisions: [Decision] = []
        var firstOfKey: [UserKey: Int] = [:]
        for (index, operation) in operations.enumerated() {
            let decision: Decision
            if let answer = decide(operation, stored: stored, firstOfKey: firstOfKey) {
                decision = answer
            } else {
                do throws(BankError) {
                    applied.append((operation, try locked.apply(operation, at: at)))
                    decision = .applied(applied.count - 1)
                } catch {
                    decision = .rejected(error)
                }
            }
            if case .applied = decision, let key = operation.userKey { firstOfKey[key] = index }
            decisions.append(decision)
        }
        let usedKeys = Set(applied.compactMap(\.operation.userKey))
        let released = claimed.subtracting(usedKeys).sorted()
        let written = try LedgerWrite.write(applied, balances: locked.changedBalances, released: released, at: at,
                                            commit: bracket == .inside, on: connection)
        return decisions.map { decision -> Result<LedgerOutcome, BankError> in
            switch decision {
            case .rejected(let error): return .failure(error)
            case .applied(let index): return .success(written[index])
            case .replayOfBatch(let index):
                guard case .applied(let original) = decisions[index] else { preconditionFailure("replays an applied op") }
                return .success(written[original].asReplay())
            case .replayOfStored(let outcome): return .success(outcome)
            }
        }
    }

    /// The answer for a keyed operation whose key was used before (in this batch or committed); nil to apply it.
    private func decide(_ operation: LedgerOperation, stored: [UserKey: StoredTransaction],
                        firstOfKey: [UserKey: Int]) -> Decision? {
        guard let key = operation.userKey else { return nil }
        if let earlier = firstOfKey[key] {
            if let field = operations[earlier].fingerprint.firstDifference(from: operation.fingerprint) {
                return .rejected(Self.keyConflict(key.key, field))
            }
            return .replayOfBatch(earlier)
        }
        guard let original = stored[key] else { return nil }
        if let field = original.fingerprint.firstDifference(from: operation.fingerprint) {
            return .rejected(Self.keyConflict(key.key, field))
        }
        guard let outcome = original.outcome(reporting: operation.command.reportedAccount) else {
            return .rejected(BankError(.internalError, "the transaction of idempotency key \"\(key.key)\" is incomplete"))
        }
        return .replayOfStored(outcome)
    }

    private static func keyConflict(_ key: String, _ field: String) -> BankError {
        BankError(.conflict, "idempotency_key \"\(key)\" was used with a different \(field)", field: field)
    }

    /// Every account the batch names (own, debited, credited), sorted: the lock order.
    private var accountIDs: [Int64] {
        var ids = Set<AccountID>()
        for operation in operations {
            ids.insert(operation.command.reportedAccount)
            ids.insert(operation.command.debited)
            ids.insert(operation.command.credited)
        }
        return ids.map(\.rawValue).sorted()
    }
}

extension LedgerOperation {
    var userKey: UserKey? { idempotencyKey.map { UserKey(user: user, key: $0) } }
}

extension LedgerOutcome {
    func asReplay() -> LedgerOutcome {
        LedgerOutcome(transaction: transaction, command: command, note: note, at: at, balance: balance, replayed: true,
                      events: [])
    }
}
