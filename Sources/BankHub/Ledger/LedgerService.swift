import BankCore
import BankStorage
import BankWire

/// A deposit, withdrawal or transfer as asked for, after argument parsing.
struct MoneyRequest: Sendable {
    let command: LedgerCommand
    let user: UserID
    let note: String?
    let idempotencyKey: String?
}

/// What a money operation answers: the transaction and the balance of the caller's account right after it.
struct MoneyOutcome: Sendable {
    let transaction: TransactionID
    let command: LedgerCommand
    let note: String?
    let at: Timestamp
    let balance: Money
    /// True when an idempotent retry returned an earlier result.
    let replayed: Bool
    /// For a goal movement, the goal as it was right after it (its `saved`); nil for the other operations.
    var goal: GoalRecord? = nil
}

/// The ledger's single point of order: account state lives here, isolated in this actor.
///
/// `submit` checks and applies a money operation to the in-memory state synchronously (no `await` between
/// the check and the balance change, so no other operation can interleave), then queues its postings and
/// events for the group-commit writer. The caller's completion runs only after that commit is durable.
/// The in-memory state and the database agree because every change goes through here, in one order.
actor LedgerService {
    /// Changed only here and in `LedgerService+*.swift` (accounts, goals), always synchronously.
    var state: LedgerState
    private var idempotency: IdempotencyRegistry
    let sequencer: EventSequencer
    /// The open savings goals (name, target, target date), so that a goal movement's `goal` event is made
    /// without a read; their `saved` here is stale (the ledger state has the balance).
    var goals: [AccountID: GoalRecord]
    /// Where the slow path of an old idempotency key reads the stored transaction.
    private let readers: any StorageReaders

    /// Database reads one request may need for an old idempotency key: one, and another only when keys were
    /// compacted while the first ran.
    static let keyReadsMax = 3

    init(snapshot: LedgerSnapshot, sequencer: EventSequencer, readers: any StorageReaders) {
        self.state = snapshot.state
        self.idempotency = snapshot.idempotency
        self.goals = Dictionary(uniqueKeysWithValues: snapshot.goals.map { ($0.id, $0) })
        self.sequencer = sequencer
        self.readers = readers
    }

    /// A money op on its way into the ledger: what `submit` takes, queued by the hub so that the money ops of one
    /// pass enter the ledger with one hop (`submit(_:)`).
    struct Submission: Sendable {
        let request: MoneyRequest
        let completion: @Sendable (Result<MoneyOutcome, BankError>) -> Void
    }

    /// Applies each submission in order, as `submit(_:at:extras:completion:)` would one by one.
    func submit(_ batch: [Submission]) async {
        for submission in batch {
            await submit(submission.request, at: nil, extras: nil, completion: submission.completion)
        }
    }

    /// Applies `request` now and calls `completion` after its commit (or at once with the error).
    /// `at` backdates the transaction (demo seeding on an empty ledger only); normally it is now.
    /// The commit writes no receipt: the outbox worker derives it from the committed transaction
    /// (`ReceiptBatch`), so an idempotent replay, which commits nothing, gets none.
    /// `extras` adds events and rows of the caller's to that commit too (a standing order's progress).
    ///
    /// An idempotency key older than the recent window is first resolved from the database (the only
    /// `await`); the key check and the apply then run together with no `await` between them, so a concurrent
    /// request with the same key is caught by the in-memory registry.
    func submit(_ request: MoneyRequest, at: Timestamp?, extras: CommitExtras?,
                completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async {
        let fingerprint = IdempotencyRegistry.Fingerprint(request.command, note: request.note)
        var stored: StoredKey?
        resolving: for reads in 0...Self.keyReadsMax {
            let lookup: IdempotencyRegistry.Lookup
            do {
                lookup = try lookUpKey(request, fingerprint, stored)
            } catch {
                completion(.failure(error))
                return
            }
            switch lookup {
            case .new:
                apply(request, fingerprint, at: at, extras: extras, completion: completion)
                return
            case .replay(let original):
                if let outcome = stored?.outcome, outcome.transaction == original {
                    completion(.success(outcome))
                } else {
                    replay(original, account: request.command.reportedAccount, completion: completion)
                }
                return
            case .unresolved:
                guard reads < Self.keyReadsMax else { break resolving }
                do {
                    stored = try await readStoredKey(request)
                } catch {
                    completion(.failure(error))
                    return
                }
            }
        }
        completion(.failure(BankError(.unavailable, "the idempotency key could not be checked now; retry")))
    }

    /// The synchronous half of `submit`: the rules, the balance change, the key's record, the writer job.
    private func apply(_ request: MoneyRequest, _ fingerprint: IdempotencyRegistry.Fingerprint, at: Timestamp?,
                       extras: CommitExtras?,
                       completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) {
        let now = at ?? Clock.now()
        let applied: AppliedTransaction
        do {
            applied = try state.apply(request.command, by: request.user, note: request.note, at: now)
        } catch {
            reportRejection(request, error, at: now)
            completion(.failure(error))
            return
        }
        if let key = request.idempotencyKey {
            idempotency.record(user: request.user, key: key, entry: .init(fingerprint: fingerprint, transaction: applied.id),
                               at: now)
        }
        guard let balance = applied.balanceAfter(request.command.reportedAccount) else {
            preconditionFailure("a transaction always posts to the caller's account")
        }
        let outcome = MoneyOutcome(transaction: applied.id, command: request.command, note: request.note, at: now,
                                   balance: balance, replayed: false, goal: goal(after: applied))
        let balances = applied.postings.map { BalanceWrite(account: $0.account, balance: $0.balanceAfter) }
        // The extras' events go after the ledger's, whose positions `postingSeqs` relies on. A goal movement also
        // tells the goal's owner, in the same commit, what the goal now holds.
        let drafts = LedgerEvents.drafts(for: applied) + (outcome.goal.map { [GoalAction(applied.kind).event($0)] } ?? [])
            + (extras?.events(outcome) ?? [])
        sequencer.submit(drafts, at: now, balances: balances, writing: { db, events in
            try LedgerRecords.insertTransaction(db, applied, idempotencyKey: request.idempotencyKey,
                                                seqs: LedgerEvents.postingSeqs(for: applied, events: events))
            try extras?.write(db, outcome)
        }, completion: { completion(.success(outcome)) })
    }

    /// Locks, unlocks or closes a customer account; returns once committed. Closing needs a zero balance.
    func setStatus(_ status: AccountStatus, of account: AccountID) async throws(BankError) {
        guard let current = state.accounts[account], current.kind == .customer else {
            throw .notFound("no account \(account)")
        }
        if status == .closed, current.balance != .zero {
            throw BankError(.conflict, "account \(account) holds \(current.balance); only an empty account can be closed")
        }
        try state.setStatus(status, of: account)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sequencer.submit([], at: Clock.now(), body: { db in
                try LedgerRecords.updateStatus(db, account, status)
            }, completion: { continuation.resume() })
        }
    }

    /// Checks a request against the rules now without applying it (used before holding it for a code).
    /// Returns true when it is a retry of an idempotency key already used with the same arguments: it will
    /// only replay its original result, so it needs no code.
    func check(_ request: MoneyRequest) async throws(BankError) -> Bool {
        let fingerprint = IdempotencyRegistry.Fingerprint(request.command, note: request.note)
        var stored: StoredKey?
        resolving: for reads in 0...Self.keyReadsMax {
            switch try lookUpKey(request, fingerprint, stored) {
            case .replay: return true
            case .new:
                _ = try state.plan(request.command, by: request.user)
                return false
            case .unresolved where reads < Self.keyReadsMax: stored = try await readStoredKey(request)
            case .unresolved: break resolving
            }
        }
        throw BankError(.unavailable, "the idempotency key could not be checked now; retry")
    }

    /// The owner of a customer account, or nil when there is no such account.
    func owner(of account: AccountID) -> UserID? {
        guard let found = state.accounts[account], found.kind == .customer else { return nil }
        return found.owner
    }

    /// The sum of all balances (zero unless money was created or lost) and the number of accounts.
    func totals() -> (total: Money, accounts: Int) {
        (state.totalBalance, state.accounts.count)
    }

    /// Moves the idempotency keys recorded before `cutoff` from full entries into 8-byte hashes (the janitor,
    /// every pass); returns how many moved. Only committed keys move, so a later retry's read finds them.
    func compactKeys(recordedBefore cutoff: Timestamp) async -> Int {
        let through = state.lastTransactionID
        // Every transaction up to `through` went to the writer before this empty job, so each is committed
        // once the job's commit is.
        do {
            try await sequencer.writer.write { _ in }
        } catch {
            return 0
        }
        return idempotency.compact(recordedBefore: cutoff, committedThrough: through)
    }

    /// Keys held as full entries and as hashes (for tests and the health of the registry).
    var keyCounts: (recent: Int, stored: Int) { (idempotency.recentCount, idempotency.storedCount) }

    /// The registry's answer for `request`'s key (`.new` without one), given what was read for it so far.
    private func lookUpKey(_ request: MoneyRequest, _ fingerprint: IdempotencyRegistry.Fingerprint,
                           _ stored: StoredKey?) throws(BankError) -> IdempotencyRegistry.Lookup {
        guard let key = request.idempotencyKey else { return .new }
        return try idempotency.lookup(user: request.user, key: key, fingerprint: fingerprint,
                                      resolution: stored?.resolution)
    }

    /// Reads what the database holds for `request`'s key; the generation is taken before the read starts.
    private func readStoredKey(_ request: MoneyRequest) async throws(BankError) -> StoredKey {
        guard let key = request.idempotencyKey else { preconditionFailure("only a keyed request is unresolved") }
        return try await StoredKey.read(readers, user: request.user, key: key, generation: idempotency.generation)
    }

    /// Answers a retry with the original transaction, after any commit still pending for it.
    private func replay(_ original: TransactionID, account: AccountID,
                        completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) {
        // A write-path read queued behind the original's write: it runs after that write, and `write`
        // returns only after the commit that made the original durable.
        let writer = sequencer.writer
        Task {
            do {
                let outcome = try await writer.write { db -> MoneyOutcome in
                    guard let record = try LedgerRecords.transaction(db, original),
                          let balance = try LedgerRecords.balance(db, of: account, after: original) else {
                        throw BankError(.internalError, "transaction \(original) of an idempotency key is missing")
                    }
                    return MoneyOutcome(transaction: record.id, command: record.command, note: record.note,
                                        at: record.at, balance: balance, replayed: true,
                                        goal: try GoalRecords.goal(db, after: record))
                }
                completion(.success(outcome))
            } catch {
                completion(.failure(error as? BankError ?? BankError(.internalError, "could not read the original result")))
            }
        }
    }

    /// A transfer refused by the rules (not a malformed one) is told to the payer's other screens as a
    /// `transfer` event with status `rejected`. Nothing moves.
    private func reportRejection(_ request: MoneyRequest, _ error: BankError, at now: Timestamp) {
        guard case .transfer = request.command, [.insufficientFunds, .accountLocked].contains(error.code),
              owner(of: request.command.debited) == request.user else { return }
        sequencer.submit([LedgerEvents.rejectedTransfer(request.command, reason: error.code, at: now)], at: now)
    }
}
