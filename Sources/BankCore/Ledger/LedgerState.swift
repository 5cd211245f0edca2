/// The ledger's in-memory state and its rules, with no I/O: which accounts exist, who owns them, what they
/// hold. Every movement goes through `apply`, which checks the rules, builds double-entry postings and moves
/// the balances, asserting the invariants (postings sum to zero; customer and goal balances never negative;
/// the sum of all balances is zero) before and after.
///
/// Only customer accounts are addressable as accounts. The bank's cash account and savings-goal accounts are
/// internal: an op naming one as an account gets `not_found`, exactly as for another customer's account.
/// Goals have their own rules in `LedgerState+Goals.swift`.
///
/// The persistence layer loads this state from SQLite at start-up and writes what `apply` returns; the two
/// agree because nothing else changes balances.
public struct LedgerState: Sendable {
    public struct Account: Sendable, Equatable {
        public let id: AccountID
        public let owner: UserID?
        public let kind: AccountKind
        public var status: AccountStatus
        public var balance: Money
        /// For a goal account, the owner's customer account its money comes from and returns to; else nil.
        public let parent: AccountID?

        public init(id: AccountID, owner: UserID?, kind: AccountKind, status: AccountStatus, balance: Money,
                    parent: AccountID? = nil) {
            precondition((kind == .goal) == (parent != nil), "exactly the goal accounts have a parent account")
            self.id = id
            self.owner = owner
            self.kind = kind
            self.status = status
            self.balance = balance
            self.parent = parent
        }
    }

    public internal(set) var accounts: [AccountID: Account] = [:]
    public internal(set) var lastTransactionID: TransactionID
    public internal(set) var lastAccountID: AccountID
    /// The sum of all balances, kept incrementally; always zero (asserted).
    private var totalCents: Int64 = 0

    /// Loads a state. `accounts` must include the cash account; their balances must sum to zero.
    public init(accounts: [Account], lastTransactionID: TransactionID) {
        self.lastTransactionID = lastTransactionID
        var lastAccount = AccountID(AccountID.firstCustomer.rawValue - 1)
        for account in accounts {
            self.accounts[account.id] = account
            totalCents += account.balance.cents
            lastAccount = max(lastAccount, account.id)
        }
        self.lastAccountID = lastAccount
        if self.accounts[.cash] == nil {
            self.accounts[.cash] = Account(id: .cash, owner: nil, kind: .cash, status: .open, balance: .zero)
        }
        precondition(totalCents == 0, "ledger loaded with balances summing to \(totalCents), not zero")
    }

    /// An empty ledger holding only the bank's cash account.
    public static var empty: LedgerState { LedgerState(accounts: [], lastTransactionID: TransactionID(0)) }

    public var accountsPerOwnerMax: Int { 20 }

    /// The customer accounts of `owner` (not their goal accounts), oldest first.
    public func accounts(ownedBy owner: UserID) -> [Account] {
        accounts.values.filter { $0.owner == owner && $0.kind == .customer }.sorted { $0.id < $1.id }
    }

    /// Opens a new customer account for `owner` with a zero balance.
    public mutating func openAccount(owner: UserID) throws(BankError) -> Account {
        guard accounts(ownedBy: owner).count < accountsPerOwnerMax else {
            throw BankError(.conflict, "a customer may hold at most \(accountsPerOwnerMax) accounts")
        }
        let account = Account(id: reserveAccountID(), owner: owner, kind: .customer, status: .open, balance: .zero)
        accounts[account.id] = account
        return account
    }

    /// Takes the next account id for an account written to the database before it exists here: sign-up's
    /// first account, whose owner's id is known only inside the commit that creates both. `register` it once
    /// that commit is durable; an id whose commit failed is simply never used.
    public mutating func reserveAccountID() -> AccountID {
        lastAccountID = AccountID(lastAccountID.rawValue + 1)
        return lastAccountID
    }

    /// Adds an empty customer account committed under an id from `reserveAccountID`.
    public mutating func register(_ account: Account) {
        precondition(account.id <= lastAccountID && accounts[account.id] == nil, "register a reserved, unused id")
        precondition(account.kind == .customer && account.balance == .zero, "a new customer account is empty")
        accounts[account.id] = account
    }

    /// Locks, unlocks or closes a customer account. An account that still has savings goals cannot close:
    /// their money would have nowhere to go back to (`conflict`; delete the goals first).
    public mutating func setStatus(_ status: AccountStatus, of id: AccountID) throws(BankError) {
        guard accounts[id]?.kind == .customer else { throw .notFound("no account \(id)") }
        if status == .closed, !goals(on: id).isEmpty {
            throw BankError(.conflict, "account \(id) has savings goals; delete them before closing it")
        }
        accounts[id]?.status = status
    }

    /// Checks `command` by `user` against the rules without changing anything, returning the postings it
    /// would write. A customer may only move money out of (and deposit into) accounts they own; another
    /// customer's account is `not_found` so its existence is not confirmed, and so is an internal account
    /// (the bank's cash account, a goal account) named where a customer account belongs.
    public func plan(_ command: LedgerCommand, by user: UserID) throws(BankError) -> [Posting] {
        let amount = command.amount
        guard amount.isPositive, amount <= Money.amountMax else {
            throw BankError(.invalidAmount, "amount must be between 0.01 and \(Money.amountMax)", field: "amount")
        }
        if case .transfer(let from, let to, _) = command, from == to {
            throw BankError(.sameAccount, "cannot transfer from account \(from) to itself", field: "to")
        }
        let own = command.reportedAccount
        guard let ownAccount = accounts[own], ownAccount.kind == .customer, ownAccount.owner == user else {
            throw .notFound("no account \(own)")
        }
        try checkCounterparty(of: command, by: user)
        let debited = try usableAccount(command.debited)
        let credited = try usableAccount(command.credited)
        if debited.kind != .cash, debited.balance < amount {
            throw BankError(.insufficientFunds,
                            "\(debited.kind == .goal ? "goal" : "account") \(debited.id) holds \(debited.balance), \(amount) was asked")
        }
        let creditedAfter = Money(cents: credited.balance.cents + amount.cents)
        if credited.kind != .cash, creditedAfter > Money.balanceMax {
            throw BankError(.invalidAmount, "account \(credited.id) would hold more than \(Money.balanceMax)",
                            field: "amount")
        }
        let postings = [
            Posting(account: debited.id, amount: -amount, balanceAfter: Money(cents: debited.balance.cents - amount.cents)),
            Posting(account: credited.id, amount: amount, balanceAfter: creditedAfter),
        ]
        assert(postings.reduce(0) { $0 + $1.amount.cents } == 0, "postings must sum to zero")
        return postings
    }

    /// Applies `command` by `user`: checks it (see `plan`), moves the balances and returns the transaction.
    public mutating func apply(_ command: LedgerCommand, by user: UserID, note: String?,
                               at: Timestamp) throws(BankError) -> AppliedTransaction {
        let postings = try plan(command, by: user)
        precondition(postings.reduce(0) { $0 + $1.amount.cents } == 0, "debits must equal credits")
        for posting in postings {
            guard var account = accounts[posting.account] else { preconditionFailure("posting to unknown account") }
            precondition(account.balance.cents + posting.amount.cents == posting.balanceAfter.cents,
                         "balance after must equal balance before plus the posting")
            account.balance = posting.balanceAfter
            precondition(account.kind == .cash || account.balance.cents >= 0, "customer or goal balance below zero")
            accounts[posting.account] = account
            totalCents += posting.amount.cents
        }
        precondition(totalCents == 0, "the sum of all balances must stay zero")
        lastTransactionID = TransactionID(lastTransactionID.rawValue + 1)
        return AppliedTransaction(id: lastTransactionID, command: command, userID: user, note: note, at: at,
                                  postings: postings)
    }

    /// The sum of every balance; zero unless money was created or lost.
    public var totalBalance: Money {
        Money(cents: accounts.values.reduce(0) { $0 + $1.balance.cents })
    }

    /// The account on the other side of `command` must be of the kind the command names: any customer
    /// account for a transfer's `to`; the caller's own open goal on this very account for a goal movement.
    /// Deposits and withdrawals post against the cash account, which the caller does not name. Anything else
    /// is `not_found`, so internal accounts cannot be reached through these ops.
    private func checkCounterparty(of command: LedgerCommand, by user: UserID) throws(BankError) {
        switch command {
        case .deposit, .withdraw:
            return
        case .transfer(_, let to, _):
            guard accounts[to]?.kind == .customer else { throw .notFound("no account \(to)") }
        case .goalFund(let account, let goal, _), .goalWithdraw(let goal, let account, _):
            guard let found = accounts[goal], found.kind == .goal, found.owner == user, found.parent == account,
                  found.status == .open else {
                throw .notFound("no goal \(goal)")
            }
        }
    }

    func usableAccount(_ id: AccountID) throws(BankError) -> Account {
        guard let account = accounts[id], account.kind == .cash || account.owner != nil else {
            throw .notFound("no account \(id)")
        }
        switch account.status {
        case .open: return account
        case .locked: throw BankError(.accountLocked, "account \(id) is locked")
        case .closed: throw .notFound("account \(id) is closed")
        }
    }
}
