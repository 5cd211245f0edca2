import BankCore

/// The ledger rules on the accounts one batch locked: a partial `LedgerState`, so that PostgreSQL holds the
/// authority and BankCore keeps the one copy of the rules (`LedgerState.plan` and `apply`).
///
/// `LedgerState` asserts that its balances sum to zero, which a subset of the accounts does not. The locked rows
/// are therefore joined by one balancing account: kind `cash`, at an id no request can name (`balancingID`),
/// holding minus the sum of the locked balances. No rule reaches it: every command's own account must be a
/// customer account, a transfer's payee a customer account, a goal a goal account; deposits and withdrawals
/// post against `AccountID.cash` (id 1), which is locked as a real row when the batch holds one, and is
/// otherwise the zero placeholder `LedgerState` adds and nothing touches. An account the batch names that is not
/// in the database is simply absent, which the rules answer with `not_found`.
struct LockedAccounts {
    static let balancingID = AccountID(Int64.min)

    private(set) var state: LedgerState
    /// The locked rows' balances as read, to write back only what changed.
    private let balancesRead: [AccountID: Money]

    init(rows: PostgresResult) {
        var accounts: [LedgerState.Account] = []
        var read: [AccountID: Money] = [:]
        var total: Int64 = 0
        for row in 0..<rows.rowCount {
            let account = LedgerState.Account(
                id: AccountID(rows.int64(row, 0)), owner: rows.optionalInt64(row, 1).map(UserID.init),
                kind: AccountKind(rawValue: rows.string(row, 2)) ?? .customer,
                status: AccountStatus(rawValue: rows.string(row, 3)) ?? .closed,
                balance: Money(cents: rows.int64(row, 4)), parent: rows.optionalInt64(row, 5).map(AccountID.init))
            precondition(account.id != Self.balancingID, "no stored account has the balancing id")
            accounts.append(account)
            read[account.id] = account.balance
            total += account.balance.cents
        }
        accounts.append(LedgerState.Account(id: Self.balancingID, owner: nil, kind: .cash, status: .open,
                                            balance: Money(cents: -total)))
        state = LedgerState(accounts: accounts, lastTransactionID: TransactionID(0))
        balancesRead = read
    }

    /// Checks and applies `operation` to the locked accounts (`LedgerState.apply`). The transaction's id is
    /// local (1, 2, …); the database's ids are taken once the batch knows how many it needs.
    mutating func apply(_ operation: LedgerOperation, at: Timestamp) throws(BankError) -> AppliedTransaction {
        let applied = try state.apply(operation.command, by: operation.user, note: operation.note, at: at)
        precondition(applied.postings.reduce(0) { $0 + $1.amount.cents } == 0, "postings sum to zero")
        return applied
    }

    /// The accounts whose balance changed, with their new balance, by id.
    var changedBalances: [(id: AccountID, balance: Money)] {
        precondition(state.accounts[Self.balancingID]?.balance.cents == -balancesRead.values.reduce(0) { $0 + $1.cents },
                     "nothing moves the balancing account")
        return balancesRead.keys.sorted().compactMap { id in
            guard let now = state.accounts[id]?.balance, now != balancesRead[id] else { return nil }
            return (id, now)
        }
    }
}
