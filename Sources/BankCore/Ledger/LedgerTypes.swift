/// The kinds of ledger transaction. Raw values are stored and sent on the wire.
public enum TransactionKind: String, Sendable, CaseIterable {
    case deposit
    case withdrawal
    case transfer
    /// Money put aside: from a customer account into one of its savings goals.
    case goalFund = "goal_fund"
    /// Money taken back: from a savings goal into its customer account (also when the goal is deleted).
    case goalWithdraw = "goal_withdraw"
}

public enum AccountKind: String, Sendable {
    /// A customer's account: its balance can never go below zero.
    case customer
    /// The bank's cash account: the other side of deposits and withdrawals; its balance is minus the money
    /// customers hold, so the sum of all balances is always zero.
    case cash
    /// A savings goal's money: owned by the customer, tied to one of their customer accounts (its `parent`),
    /// never below zero. Internal: no customer op can address it as an account, only as a goal.
    case goal
}

public enum AccountStatus: String, Sendable {
    case open
    case locked
    case closed
}

/// A money movement request, after argument parsing, before validation against the ledger.
public enum LedgerCommand: Sendable, Equatable {
    case deposit(account: AccountID, amount: Money)
    case withdraw(account: AccountID, amount: Money)
    case transfer(from: AccountID, to: AccountID, amount: Money)
    /// From the customer account `account` into its goal account `goal`.
    case goalFund(account: AccountID, goal: AccountID, amount: Money)
    /// From the goal account `goal` back into its customer account `account`.
    case goalWithdraw(goal: AccountID, account: AccountID, amount: Money)

    /// The command a stored transaction carried out, from its kind, the accounts its postings debited and
    /// credited, and its amount (how both stores read a transaction back).
    public init(stored kind: TransactionKind, debited: AccountID, credited: AccountID, amount: Money) {
        self = switch kind {
        case .deposit: .deposit(account: credited, amount: amount)
        case .withdrawal: .withdraw(account: debited, amount: amount)
        case .transfer: .transfer(from: debited, to: credited, amount: amount)
        case .goalFund: .goalFund(account: debited, goal: credited, amount: amount)
        case .goalWithdraw: .goalWithdraw(goal: debited, account: credited, amount: amount)
        }
    }

    public var kind: TransactionKind {
        switch self {
        case .deposit: .deposit
        case .withdraw: .withdrawal
        case .transfer: .transfer
        case .goalFund: .goalFund
        case .goalWithdraw: .goalWithdraw
        }
    }

    public var amount: Money {
        switch self {
        case .deposit(_, let amount), .withdraw(_, let amount), .transfer(_, _, let amount),
             .goalFund(_, _, let amount), .goalWithdraw(_, _, let amount): amount
        }
    }

    /// The goal account of a goal movement; nil for the others.
    public var goal: AccountID? {
        switch self {
        case .goalFund(_, let goal, _), .goalWithdraw(let goal, _, _): goal
        case .deposit, .withdraw, .transfer: nil
        }
    }

    /// The account money leaves (for a deposit: the bank's cash account).
    public var debited: AccountID {
        switch self {
        case .deposit: .cash
        case .withdraw(let account, _): account
        case .transfer(let from, _, _): from
        case .goalFund(let account, _, _): account
        case .goalWithdraw(let goal, _, _): goal
        }
    }

    /// The account money arrives in (for a withdrawal: the bank's cash account).
    public var credited: AccountID {
        switch self {
        case .deposit(let account, _): account
        case .withdraw: .cash
        case .transfer(_, let to, _): to
        case .goalFund(_, let goal, _): goal
        case .goalWithdraw(_, let account, _): account
        }
    }

    /// The caller's own account that the operation is about, whose balance the reply reports.
    public var reportedAccount: AccountID {
        switch self {
        case .deposit(let account, _), .withdraw(let account, _), .goalFund(let account, _, _),
             .goalWithdraw(_, let account, _): account
        case .transfer(let from, _, _): from
        }
    }
}

/// One leg of a transaction: a signed amount on one account, with the balance it leaves behind.
/// Postings are immutable once written; the database refuses UPDATE and DELETE on them.
public struct Posting: Sendable, Equatable {
    public let account: AccountID
    public let amount: Money
    public let balanceAfter: Money

    public init(account: AccountID, amount: Money, balanceAfter: Money) {
        self.account = account
        self.amount = amount
        self.balanceAfter = balanceAfter
    }
}

/// A transaction the ledger has applied: its postings always sum to zero.
public struct AppliedTransaction: Sendable, Equatable {
    public let id: TransactionID
    public let command: LedgerCommand
    public let userID: UserID
    public let note: String?
    public let at: Timestamp
    public let postings: [Posting]

    public var kind: TransactionKind { command.kind }

    /// The balance of `account` right after this transaction.
    public func balanceAfter(_ account: AccountID) -> Money? {
        postings.first { $0.account == account }?.balanceAfter
    }
}
