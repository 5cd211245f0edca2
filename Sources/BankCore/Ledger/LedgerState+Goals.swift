/// Savings goals in the ledger: each goal is an account of kind `.goal`, owned by the customer and tied to one
/// of their customer accounts (its `parent`). Its balance is the money saved; it moves only to and from the
/// parent, through `apply` with `.goalFund` and `.goalWithdraw`, so the double-entry invariants cover it.
///
/// A goal is addressed by its goal id, which is its account's id; as an account it is internal (`not_found`
/// to every account op). A deleted goal's account stays, closed and empty, because its postings stay.
extension LedgerState {
    /// Open savings goals one customer may have at once; past this, `goal_create` is `conflict`.
    public static let goalsPerOwnerMax = 20

    /// The open goal accounts of `owner`, oldest first.
    public func goals(ownedBy owner: UserID) -> [Account] {
        accounts.values.filter { $0.owner == owner && $0.kind == .goal && $0.status == .open }.sorted { $0.id < $1.id }
    }

    /// The open goal accounts whose money comes from `account`.
    public func goals(on account: AccountID) -> [Account] {
        accounts.values.filter { $0.parent == account && $0.status == .open }
    }

    /// The open goal `goal` of `owner`; `not_found` for anything else (another customer's goal, a deleted
    /// goal, an account that is not a goal).
    public func goal(_ goal: AccountID, of owner: UserID) throws(BankError) -> Account {
        guard let found = accounts[goal], found.kind == .goal, found.owner == owner, found.status == .open else {
            throw .notFound("no goal \(goal)")
        }
        assert(found.parent != nil, "a goal account has a parent")
        return found
    }

    /// Opens an empty goal account for `owner` on their customer account `parent`, which must be open
    /// (`not_found` when it is not theirs or closed, `account_locked` when locked).
    public mutating func openGoal(owner: UserID, on parent: AccountID) throws(BankError) -> Account {
        guard let account = accounts[parent], account.kind == .customer, account.owner == owner else {
            throw .notFound("no account \(parent)")
        }
        _ = try usableAccount(parent)
        guard goals(ownedBy: owner).count < Self.goalsPerOwnerMax else {
            throw BankError(.conflict, "a customer may have at most \(Self.goalsPerOwnerMax) savings goals")
        }
        let goal = Account(id: reserveAccountID(), owner: owner, kind: .goal, status: .open, balance: .zero,
                           parent: parent)
        accounts[goal.id] = goal
        return goal
    }

    /// Deletes `owner`'s goal: whatever it holds goes back to its account (the returned transaction, nil when
    /// it held nothing), then the goal account closes. All or nothing: when the money cannot go back (the
    /// account is locked), nothing changes.
    public mutating func deleteGoal(_ goal: AccountID, by owner: UserID, at: Timestamp) throws(BankError) -> AppliedTransaction? {
        let found = try self.goal(goal, of: owner)
        guard let parent = found.parent else { preconditionFailure("a goal account has a parent") }
        _ = try usableAccount(parent)
        var returned: AppliedTransaction?
        if found.balance.isPositive {
            returned = try apply(.goalWithdraw(goal: goal, account: parent, amount: found.balance), by: owner, note: nil,
                                 at: at)
        }
        precondition(accounts[goal]?.balance == .zero, "a goal is empty before it closes")
        accounts[goal]?.status = .closed
        return returned
    }
}
