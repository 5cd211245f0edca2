import BankCore

/// One group commit: many operations checked and applied inside ONE PostgreSQL transaction (one WAL flush).
///
/// 1. claim the idempotency keys (in key order), then read the committed transactions of all of them;
/// 2. lock every account named, in id order, and build the rules' state from them (`LockedAccounts`);
/// 3. run each operation through BankCore's rules in order: a rejected one fails alone, the others go on;
/// 4. take transaction ids and, locking the stream counters in name order, the events' seqs;
/// 5. write transactions, postings, events and balances in one statement, release rejected ops' keys; COMMIT.
/// Six to eight round trips whatever the batch size. Runs on the ledger's connection thread.
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

    func run(on connection: PostgresConnection) throws(Failure) -> [Result<LedgerOutcome, BankError>] {
        precondition(!operations.isEmpty, "a batch holds at least one operation")
        return try Self.transaction(on: connection) { try body(connection) }
    }

    /// Runs `work` between BEGIN and COMMIT and says how it ended: a `BankError` it throws is `refused` (rolled
    /// back), any other error `failed` (rolled back), a connection lost during COMMIT `commitUnknown`. A COMMIT
    /// the server answered with ROLLBACK (a statement had failed and `work` swallowed the error, e.g. in a
    /// caller's follow-up) is `failed` too (`PostgresConnection.commit`): nothing of it is stored, so no result
    /// of it may be reported.
    static func transaction<T>(on connection: PostgresConnection, _ work: () throws -> T) throws(Failure) -> T {
        do {
            try connection.execute("BEGIN")
            let result = try work()
            do {
                try connection.commit()
            } catch {
                throw error.kind == .connectionLost ? Failure.commitUnknown(error) : Failure.failed(error)
            }
            return result
        } catch let failure as Failure {
            throw failure
        } catch {
            try? connection.execute("ROLLBACK")
            if let refusal = error as? BankError { throw .refused(refusal) }
            throw .failed(error as? PostgresError ?? PostgresError(sqlState: nil, message: "\(error)", sql: nil))
        }
    }

    func body(_ connection: PostgresConnection) throws(PostgresError) -> [Result<LedgerOutcome, BankError>] {
        let (claimed, stored) = try IdempotencyClaims.claim(operations, at: at, on: connection)
        var locked = LockedAccounts(rows: try connection.query(LedgerSQL.lockAccounts,
                                                               [PostgresArray.integers(accountIDs)]))
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
                                            on: connection)
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
