import BankCore
import BankPostgres
import BankStorage
import Synchronization

/// The ledger of one of several hubs on one PostgreSQL database: PostgreSQL is the authority
/// (`PostgresLedger`), this hub keeps no balances, statuses, owners, goals or idempotency keys in memory.
///
/// - Money: each op is checked by BankCore's rules on the rows its batch locked (in id order), its key claimed in
///   `idempotency_keys` (a retry sent to another hub waits for the first COMMIT, then replays), its events' seqs
///   taken from `stream_counters`; the caller is answered and the events published only after COMMIT. A goal
///   movement's `goal` event and a standing order's extras are follow-ups in the same commit.
/// - Accounts and goals: opened, locked, closed and deleted in transactions of their own on the same connection
///   (`PostgresLedger.transact`), with the same BankCore rules on the locked rows and ids from `account_ids`.
/// - Reads (owner, payable, totals, a goal's command) come from the readers: committed rows.
///
/// Events have the lone hub's shape (`LedgerEventData` renders both), so clients cannot tell the two apart.
final class SharedLedger: LedgerAuthority {
    private let ledger: PostgresLedger
    /// Non-ledger events (a refused transfer's) with seqs from the database; also publishes the ledger's.
    private let sequencer: EventSequencer
    private let writer: any StorageWriter
    private let readers: any StorageReaders

    init(ledger: PostgresLedger, sequencer: EventSequencer, readers: any StorageReaders) {
        precondition(sequencer.seqs == .database, "a shared ledger's other events take their seqs from the database")
        self.ledger = ledger
        self.sequencer = sequencer
        self.writer = sequencer.writer
        self.readers = readers
    }

    // MARK: Money

    func submit(_ batch: [LedgerService.Submission]) async {
        var start = batch.startIndex
        while start < batch.endIndex {
            let end = min(start + ledger.operationsPerTransactionMax, batch.endIndex)
            let chunk = Array(batch[start..<end])
            enqueue(chunk.map { operation(for: $0.request, extras: nil) }, chunk.map(\.request),
                    chunk.map(\.completion))
            start = end
        }
    }

    /// `at` is not honoured: the database's transaction time is its commit's (backdating is for demo seeding
    /// on a lone hub's empty ledger).
    func submit(_ request: MoneyRequest, at: Timestamp?, extras: CommitExtras?,
                completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async {
        enqueue([operation(for: request, extras: extras)], [request], [completion])
    }

    /// Queues the operations on the ledger's connection now (so they are applied in submission order), and
    /// answers each after COMMIT, publishing its events first.
    private func enqueue(_ operations: [(LedgerOperation, GoalBox)], _ requests: [MoneyRequest],
                         _ completions: [@Sendable (Result<MoneyOutcome, BankError>) -> Void]) {
        let (sequencer, readers) = (self.sequencer, self.readers)
        ledger.submit(operations.map(\.0)) { results in
            for (index, result) in results.enumerated() {
                switch result {
                case .success(let outcome) where outcome.replayed && outcome.command.goal != nil:
                    // A replay runs no follow-up: the goal is read as the original left it (the lone ledger's
                    // replay does the same), so a retried goal movement answers its goal too.
                    Task {
                        let goal = await Self.goal(after: outcome, readers)
                        completions[index](.success(Self.moneyOutcome(outcome, goal: goal)))
                    }
                case .success(let outcome):
                    sequencer.publishCommitted(outcome.events.map { Self.stored($0, at: outcome.at) })
                    completions[index](.success(Self.moneyOutcome(outcome, goal: operations[index].1.read())))
                case .failure(let error):
                    Self.reportRejection(requests[index], error, sequencer: sequencer)
                    completions[index](.failure(error))
                }
            }
        }
    }

    /// The ledger operation of `request`, with its goal event and `extras` as follow-ups in its commit.
    private func operation(for request: MoneyRequest, extras: CommitExtras?) -> (LedgerOperation, GoalBox) {
        let box = GoalBox()
        let goalID = request.command.goal
        guard goalID != nil || extras != nil else {
            return (LedgerOperation(request.command, by: request.user, note: request.note,
                                    idempotencyKey: request.idempotencyKey), box)
        }
        let followUp = LedgerFollowUp(events: { db, outcome, applied in
            var drafts: [LedgerEventDraft] = []
            var goal: GoalRecord?
            if let goalID, let saved = applied.balanceAfter(goalID) {
                guard let found = try GoalRecords.goal(db, goalID, ownedBy: request.user) else {
                    throw BankError(.internalError, "goal \(goalID) has no details")
                }
                goal = found.holding(saved)
                box.write(goal)
                drafts.append(Self.draft(GoalAction(applied.kind).event(found.holding(saved))))
            }
            if let extras {
                drafts += extras.events(Self.moneyOutcome(outcome, goal: goal)).map(Self.draft)
            }
            return drafts
        }, write: { db, outcome in
            try extras?.write(db, Self.moneyOutcome(outcome, goal: box.read()))
        })
        return (LedgerOperation(request.command, by: request.user, note: request.note,
                                idempotencyKey: request.idempotencyKey, followUp: followUp), box)
    }

    func check(_ request: MoneyRequest) async throws(BankError) -> Bool {
        try await ledger.check(LedgerOperation(request.command, by: request.user, note: request.note,
                                               idempotencyKey: request.idempotencyKey))
    }

    /// A transfer refused by the rules is told to the payer's other screens, as on a lone hub. The rules check
    /// that the payer owns the debited account before funds or locks, so these two codes imply it.
    private static func reportRejection(_ request: MoneyRequest, _ error: BankError, sequencer: EventSequencer) {
        guard case .transfer = request.command, [.insufficientFunds, .accountLocked].contains(error.code) else { return }
        let now = Clock.now()
        sequencer.submit([LedgerEvents.rejectedTransfer(request.command, reason: error.code, at: now)], at: now)
    }

    // MARK: Accounts

    func setStatus(_ status: AccountStatus, of account: AccountID) async throws(BankError) {
        _ = try await transact(LedgerTransaction(prepare: { context in
            var state = try context.lockAccounts([account], goalsOf: try Self.owner(of: account, context.db))
            guard let current = state.accounts[account], current.kind == .customer else {
                throw BankError.notFound("no account \(account)")
            }
            if status == .closed, current.balance != .zero {
                throw BankError(.conflict, "account \(account) holds \(current.balance); only an empty account can be closed")
            }
            try state.setStatus(status, of: account)
            try LedgerRecords.updateStatus(context.db, account, status)
            return []
        }, finish: { _, _ in [] }))
    }

    func owner(of account: AccountID) async throws(BankError) -> UserID? {
        let row = try await read(account)
        guard let row, row.kind == .customer else { return nil }
        return row.owner
    }

    func isPayable(_ account: AccountID, by user: UserID) async throws(BankError) -> Bool {
        guard let row = try await read(account), row.kind == .customer, row.status != .closed else { return false }
        return row.owner != user
    }

    func totals() async throws(BankError) -> (total: Money, accounts: Int) {
        try await reading { db in
            try db.prepare("SELECT COALESCE(SUM(balance), 0), COUNT(*) FROM accounts").queryOne { row in
                (Money(cents: row.int64(0)), Int(row.int64(1)))
            } ?? (.zero, 0)
        }
    }

    func openAccount(owner: UserID, name: String, initialDeposit: Money?,
                     at: Timestamp?) async throws(BankError) -> OpenedAccount {
        if let amount = initialDeposit, !amount.isPositive || amount > Money.amountMax {
            throw BankError(.invalidAmount, "initial_deposit must be between 0.01 and \(Money.amountMax)",
                            field: "initial_deposit")
        }
        let opened = Mutex<AccountRecord?>(nil)
        let outcome = try await transact(LedgerTransaction(prepare: { context in
            try Self.lockUser(owner, context.db)
            var state = try context.lockAccounts(try Self.accountIDs(ownedBy: owner, context.db), goalsOf: nil)
            _ = try state.openAccount(owner: owner)
            let account = LedgerState.Account(id: try context.nextAccountID(), owner: owner, kind: .customer,
                                              status: .open, balance: .zero)
            try LedgerRecords.insertAccount(context.db, account, name: name, at: context.at)
            opened.withLock {
                $0 = AccountRecord(id: account.id, owner: owner, name: name, currency: "USD", status: .open,
                                   balance: .zero, createdAt: context.at)
            }
            return initialDeposit.map { [LedgerOperation(.deposit(account: account.id, amount: $0), by: owner)] } ?? []
        }, finish: { _, results in
            // A valid amount into a new, open, empty account: the rules cannot refuse it.
            for case .failure(let error) in results { throw error }
            return []
        }))
        guard let record = opened.withLock({ $0 }) else { preconditionFailure("a committed opening has its account") }
        let deposit = try outcome.results.first.map { result throws(BankError) in
            Self.moneyOutcome(try result.get(), goal: nil)
        }
        return OpenedAccount(account: AccountRecord(id: record.id, owner: owner, name: name, currency: "USD",
                                                    status: .open, balance: deposit?.balance ?? .zero,
                                                    createdAt: record.createdAt), deposit: deposit)
    }

    func signUp(_ user: UserRecords.NewUser, accountName: String) async throws -> (UserRecord, AccountRecord) {
        let now = user.at
        return try await writer.write { db -> (UserRecord, AccountRecord) in
            let record = try UserRecords.insert(db, user)
            guard let id = try db.prepare("SELECT nextval('account_ids')").queryOne(row: { AccountID($0.int64(0)) }) else {
                preconditionFailure("nextval returns a row")
            }
            let account = LedgerState.Account(id: id, owner: record.id, kind: .customer, status: .open, balance: .zero)
            try LedgerRecords.insertAccount(db, account, name: accountName, at: now)
            return (record, AccountRecord(id: id, owner: record.id, name: accountName, currency: "USD", status: .open,
                                          balance: .zero, createdAt: now))
        }
    }

    // MARK: Goals

    func openGoal(owner: UserID, on parent: AccountID, name: String, target: Money,
                  targetDate: String?) async throws(BankError) -> GoalRecord {
        let opened = Mutex<GoalRecord?>(nil)
        _ = try await transact(LedgerTransaction(prepare: { context in
            try Self.lockUser(owner, context.db)
            var state = try context.lockAccounts([parent], goalsOf: owner)
            let reserved = try state.openGoal(owner: owner, on: parent)
            let account = LedgerState.Account(id: try context.nextAccountID(), owner: owner, kind: .goal,
                                              status: .open, balance: .zero, parent: reserved.parent)
            let goal = GoalRecord(id: account.id, account: parent, owner: owner, name: name, target: target,
                                  targetDate: targetDate, saved: .zero, createdAt: context.at)
            try GoalRecords.insert(context.db, goal, account: account)
            opened.withLock { $0 = goal }
            return []
        }, finish: { _, _ in
            guard let goal = opened.withLock({ $0 }) else { preconditionFailure("prepare opened the goal") }
            return [Self.draft(GoalAction.created.event(goal))]
        }))
        guard let goal = opened.withLock({ $0 }) else { preconditionFailure("a committed goal has its record") }
        return goal
    }

    func goalCommand(_ goal: AccountID, withdraw: Bool, amount: Money, by user: UserID) async throws(BankError)
        -> LedgerCommand {
        guard let row = try await read(goal), row.kind == .goal, row.owner == user, let parent = row.parent else {
            throw .notFound("no goal \(goal)")
        }
        return withdraw ? .goalWithdraw(goal: goal, account: parent, amount: amount)
            : .goalFund(account: parent, goal: goal, amount: amount)
    }

    func deleteGoal(_ id: AccountID, by owner: UserID,
                    completion: @escaping @Sendable (Result<DeletedGoal, BankError>) -> Void) async {
        let found = Mutex<(goal: GoalRecord, balance: Money)?>(nil)
        let result = await transactResult(LedgerTransaction(prepare: { context in
            // The parent as committed (a goal's parent never changes), so that both are locked in one id order.
            let parentID = try Self.db(context) { db in
                try db.prepare("SELECT parent_id FROM accounts WHERE id = ?").queryOne(id.rawValue) {
                    $0.optionalInt64(0).map(AccountID.init)
                } ?? nil
            }
            var state = try context.lockAccounts([id] + (parentID.map { [$0] } ?? []), goalsOf: owner)
            let goal = try state.goal(id, of: owner)
            guard let parent = goal.parent, let details = try GoalRecords.goal(context.db, id, ownedBy: owner) else {
                throw BankError.notFound("no goal \(id)")
            }
            _ = try state.deleteGoal(id, by: owner, at: context.at)
            found.withLock { $0 = (details.holding(.zero), state.accounts[parent]?.balance ?? .zero) }
            guard goal.balance.isPositive else { return [] }
            return [LedgerOperation(.goalWithdraw(goal: id, account: parent, amount: goal.balance), by: owner)]
        }, finish: { context, results in
            for case .failure(let error) in results { throw error }
            try LedgerRecords.updateStatus(context.db, id, .closed)
            guard let deleted = found.withLock({ $0 })?.goal else { preconditionFailure("prepare found the goal") }
            return [Self.draft(GoalAction.deleted.event(deleted))]
        }))
        switch result {
        case .failure(let error):
            completion(.failure(error))
        case .success(let outcome):
            guard let (goal, balance) = found.withLock({ $0 }) else { preconditionFailure("prepare found the goal") }
            let returned = outcome.results.first.flatMap { try? $0.get() }.map { Self.moneyOutcome($0, goal: goal) }
            completion(.success(DeletedGoal(goal: goal, returned: returned, balance: balance)))
        }
    }

    // MARK: Keys

    /// Nothing to compact: keys live in `idempotency_keys`, not in this hub's memory.
    func compactKeys(recordedBefore cutoff: Timestamp) async -> Int { 0 }

    var keyCounts: (recent: Int, stored: Int) { (0, 0) }

    // MARK: Parts

    /// Runs `work` on the ledger's connection; publishes the events it appended (its operations' and its
    /// own) after COMMIT, then returns.
    private func transact(_ work: LedgerTransaction) async throws(BankError) -> LedgerTransactionOutcome {
        try await transactResult(work).get()
    }

    private func transactResult(_ work: LedgerTransaction) async -> Result<LedgerTransactionOutcome, BankError> {
        let result = await ledger.transact(work)
        if case .success(let outcome) = result {
            var events: [StoredEvent] = []
            for case .success(let applied) in outcome.results {
                events += applied.events.map { Self.stored($0, at: applied.at) }
            }
            // `finish` ran last, so its events come after the operations' on any stream they share.
            let at = outcome.results.first.flatMap { try? $0.get().at } ?? Clock.now()
            events += outcome.events.map { Self.stored($0, at: at) }
            sequencer.publishCommitted(events)
        }
        return result
    }

    /// An account's row as committed (`nil` when there is none).
    private struct AccountRow: Sendable {
        let owner: UserID?
        let kind: AccountKind
        let status: AccountStatus
        let parent: AccountID?
    }

    private func read(_ account: AccountID) async throws(BankError) -> AccountRow? {
        try await reading { db in
            try db.prepare("SELECT owner_id, kind, status, parent_id FROM accounts WHERE id = ?")
                .queryOne(account.rawValue) { row in
                    AccountRow(owner: row.optionalInt64(0).map(UserID.init),
                               kind: AccountKind(rawValue: row.string(1)) ?? .customer,
                               status: AccountStatus(rawValue: row.string(2)) ?? .closed,
                               parent: row.optionalInt64(3).map(AccountID.init))
                }
        }
    }

    private func reading<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws(BankError) -> T {
        do {
            return try await readers.read(body)
        } catch {
            throw error as? BankError ?? BankError(.unavailable, "the ledger could not be read now; retry")
        }
    }

    /// Serializes openings of accounts and goals per customer across hubs (their counts are limited).
    private static func db<T>(_ context: LedgerTransactionContext, _ body: (any SQLDatabase) throws -> T) rethrows -> T {
        try body(context.db)
    }

    private static func lockUser(_ user: UserID, _ db: any SQLDatabase) throws {
        guard try db.prepare("SELECT id FROM users WHERE id = ? FOR UPDATE").queryOne(user.rawValue, row: { $0.int64(0) })
            != nil else { throw BankError.notFound("no user \(user)") }
    }

    private static func accountIDs(ownedBy owner: UserID, _ db: any SQLDatabase) throws -> [AccountID] {
        try db.prepare("SELECT id FROM accounts WHERE owner_id = ? AND kind = 'customer'")
            .query(owner.rawValue) { AccountID($0.int64(0)) }
    }

    private static func owner(of account: AccountID, _ db: any SQLDatabase) throws -> UserID? {
        try db.prepare("SELECT owner_id FROM accounts WHERE id = ?").queryOne(account.rawValue) {
            $0.optionalInt64(0).map(UserID.init)
        } ?? nil
    }

    /// The goal of a committed goal movement as that movement left it; nil when it cannot be read now (the
    /// reply then lacks only the goal, as for any other transaction).
    private static func goal(after outcome: LedgerOutcome, _ readers: any StorageReaders) async -> GoalRecord? {
        let transaction = outcome.transaction
        return try? await readers.read { db in
            try LedgerRecords.transaction(db, transaction).flatMap { try GoalRecords.goal(db, after: $0) }
        }
    }

    private static func moneyOutcome(_ outcome: LedgerOutcome, goal: GoalRecord?) -> MoneyOutcome {
        MoneyOutcome(transaction: outcome.transaction, command: outcome.command, note: outcome.note, at: outcome.at,
                     balance: outcome.balance, replayed: outcome.replayed, goal: goal)
    }

    private static func stored(_ event: LedgerEvent, at: Timestamp) -> StoredEvent {
        StoredEvent(stream: event.stream.description, seq: event.seq, kind: event.kind, data: event.data,
                    at: at.milliseconds)
    }

    private static func draft(_ event: EventDraft) -> LedgerEventDraft {
        LedgerEventDraft(stream: event.stream, kind: event.kind, data: event.json)
    }
}

/// The goal a follow-up read inside the ledger's transaction, handed to the completion after COMMIT.
private final class GoalBox: Sendable {
    private let goal = Mutex<GoalRecord?>(nil)
    func write(_ value: GoalRecord?) { goal.withLock { $0 = value } }
    func read() -> GoalRecord? { goal.withLock { $0 } }
}
