/// The ledger's in-memory state and its rules, with no I/O: which accounts exist, who owns them, what they
/// hold. Every movement goes through `apply`, which checks the rules, builds double-entry postings and moves
/// the balances, asserting the invariants (postings sum to zero; customer balances never negative; the sum of
/// all balances is zero) before and after.
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

        public init(id: AccountID, owner: UserID?, kind: AccountKind, status: AccountStatus, balance: Money) {
            self.id = id
            self.owner = owner
            self.kind = kind
            self.status = status
            self.balance = balance
        }
    }

    public private(set) var accounts: [AccountID: Account] = [:]
    public private(set) var lastTransactionID: TransactionID
    public private(set) var lastAccountID: AccountID
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

    /// The customer accounts of `owner`, oldest first.
    public func accounts(ownedBy owner: UserID) -> [Account] {
        accounts.values.filter { $0.owner == owner }.sorted { $0.id < $1.id }
    }

    /// Opens a new customer account for `owner` with a zero balance.
    public mutating func openAccount(owner: UserID) throws(BankError) -> Account {
        guard accounts(ownedBy: owner).count < accountsPerOwnerMax else {
            throw BankError(.conflict, "a customer may hold at most \(accountsPerOwnerMax) accounts")
        }
        let id = AccountID(lastAccountID.rawValue + 1)
        let account = Account(id: id, owner: owner, kind: .customer, status: .open, balance: .zero)
        accounts[id] = account
        lastAccountID = id
        return account
    }

    public mutating func setStatus(_ status: AccountStatus, of id: AccountID) throws(BankError) {
        guard accounts[id]?.kind == .customer else { throw .notFound("no account \(id)") }
        accounts[id]?.status = status
    }

    /// Checks `command` by `user` against the rules without changing anything, returning the postings it
    /// would write. A customer may only move money out of (and deposit into) accounts they own; another
    /// customer's account is `not_found` so its existence is not confirmed.
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
        let debited = try usableAccount(command.debited)
        let credited = try usableAccount(command.credited)
        if debited.kind == .customer, debited.balance < amount {
            throw BankError(.insufficientFunds, "account \(debited.id) holds \(debited.balance), \(amount) was asked")
        }
        let creditedAfter = Money(cents: credited.balance.cents + amount.cents)
        if credited.kind == .customer, creditedAfter > Money.balanceMax {
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
            precondition(account.kind != .customer || account.balance.cents >= 0, "customer balance below zero")
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

    private func usableAccount(_ id: AccountID) throws(BankError) -> Account {
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
