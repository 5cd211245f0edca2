import BankCore
import BankStorage

/// The ledger as the hub sees it: exactly the operations the hub, the standing-order scheduler and the janitor
/// call. Two authorities stand behind it (`makeLedger`):
/// - `LedgerService`: the in-memory authority of SQLite and of a lone PostgreSQL hub (one actor hop per call,
///   as before the seam: an existential call adds no hop);
/// - `SharedLedger`: PostgreSQL is the authority, for several hubs on one database (`hubLock == .shared`).
///
/// Both give the same answers and the same events (`LedgerEvents`, `LedgerEventData`), so clients cannot tell.
protocol LedgerAuthority: Sendable {
    /// Applies each submission in order, as `submit(_:at:extras:completion:)` would one by one.
    func submit(_ batch: [LedgerService.Submission]) async

    /// Applies `request` and calls `completion` after its commit (or at once with the error). `at` backdates
    /// the transaction (demo seeding only); `extras` adds events and rows to the same commit.
    func submit(_ request: MoneyRequest, at: Timestamp?, extras: CommitExtras?,
                completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async

    /// Checks a request against the rules without applying it; true when it is the retry of an idempotency key
    /// used with the same arguments (it will only replay, so it needs no code).
    func check(_ request: MoneyRequest) async throws(BankError) -> Bool

    /// Locks, unlocks or closes a customer account; returns once committed. Closing needs a zero balance.
    func setStatus(_ status: AccountStatus, of account: AccountID) async throws(BankError)

    /// The owner of a customer account, or nil when there is no such account.
    func owner(of account: AccountID) async throws(BankError) -> UserID?

    /// Whether `user` may save `account` as a payee: another customer's account that is not closed.
    func isPayable(_ account: AccountID, by user: UserID) async throws(BankError) -> Bool

    /// The sum of all balances (zero unless money was created or lost) and the number of accounts.
    func totals() async throws(BankError) -> (total: Money, accounts: Int)

    /// Opens an account for `owner` with an optional initial deposit in the same commit; returns once durable.
    func openAccount(owner: UserID, name: String, initialDeposit: Money?,
                     at: Timestamp?) async throws(BankError) -> OpenedAccount

    /// Signs `user` up with a first customer account, both in one commit; returns them once durable.
    func signUp(_ user: UserRecords.NewUser, accountName: String) async throws -> (UserRecord, AccountRecord)

    /// Opens a savings goal on the owner's account and returns it once committed, with its `created` event.
    func openGoal(owner: UserID, on parent: AccountID, name: String, target: Money,
                  targetDate: String?) async throws(BankError) -> GoalRecord

    /// The command moving `amount` into or out of `user`'s goal; `not_found` when it was never theirs.
    func goalCommand(_ goal: AccountID, withdraw: Bool, amount: Money, by user: UserID) async throws(BankError)
        -> LedgerCommand

    /// Deletes a goal, returning what it holds to its account in the same commit; `completion` runs after it.
    func deleteGoal(_ id: AccountID, by owner: UserID,
                    completion: @escaping @Sendable (Result<DeletedGoal, BankError>) -> Void) async

    /// Compacts the idempotency keys held in memory (the janitor); returns how many moved.
    func compactKeys(recordedBefore cutoff: Timestamp) async -> Int

    /// Keys held in memory as full entries and as hashes (tests, the health of the registry).
    var keyCounts: (recent: Int, stored: Int) { get async }
}

extension LedgerAuthority {
    /// `submit(_:at:extras:completion:)` now, without extras.
    func submit(_ request: MoneyRequest, completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async {
        await submit(request, at: nil, extras: nil, completion: completion)
    }

    /// `submit(_:at:extras:completion:)` backdated to `at` (demo seeding on an empty ledger only).
    func submit(_ request: MoneyRequest, at: Timestamp,
                completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async {
        await submit(request, at: at, extras: nil, completion: completion)
    }

    /// `submit(_:at:extras:completion:)` now, with `extras` in the same commit.
    func submit(_ request: MoneyRequest, extras: CommitExtras,
                completion: @escaping @Sendable (Result<MoneyOutcome, BankError>) -> Void) async {
        await submit(request, at: nil, extras: extras, completion: completion)
    }

    /// `openAccount(owner:name:initialDeposit:at:)` now.
    func openAccount(owner: UserID, name: String, initialDeposit: Money? = nil) async throws(BankError) -> OpenedAccount {
        try await openAccount(owner: owner, name: name, initialDeposit: initialDeposit, at: nil)
    }

    /// `openAccount(owner:name:initialDeposit:at:)` backdated, without a deposit (demo seeding).
    func openAccount(owner: UserID, name: String, at: Timestamp) async throws(BankError) -> OpenedAccount {
        try await openAccount(owner: owner, name: name, initialDeposit: nil, at: at)
    }
}

extension LedgerService: LedgerAuthority {}
