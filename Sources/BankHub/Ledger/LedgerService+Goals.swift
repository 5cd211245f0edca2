import BankCore
import BankStorage
import BankWire

/// What happened to a goal, as its `goal` event says (`action`).
enum GoalAction: String, Sendable {
    case created, funded, withdrawn, deleted

    /// The action of a goal movement.
    init(_ kind: TransactionKind) {
        precondition(kind == .goalFund || kind == .goalWithdraw, "only goal movements have a goal action")
        self = kind == .goalFund ? .funded : .withdrawn
    }

    /// The `goal` event on the owner's `user:ID` stream: `{action, goal}`.
    func event(_ goal: GoalRecord) -> EventDraft {
        EventDraft(stream: .user(goal.owner), kind: "goal",
                   data: ["action": .string(rawValue), "goal": WireObjects.goal(goal)])
    }
}

/// A goal just deleted (holding nothing), the transaction that returned its savings (nil when it held
/// nothing), and its account's balance right after.
struct DeletedGoal: Sendable {
    let goal: GoalRecord
    let returned: MoneyOutcome?
    let balance: Money
}

/// Savings goals: opening one, moving money in and out, deleting one (which returns its money first, in the
/// same commit). Movements go through `submit` like any other, with idempotency keys and in arrival order.
extension LedgerService {
    /// Opens goal `name` for `owner` on their account `parent` and returns it once committed, with its
    /// `created` event. `not_found` when the account is not the owner's (or closed), `account_locked` when it
    /// is locked, `conflict` past `LedgerState.goalsPerOwnerMax` open goals.
    func openGoal(owner: UserID, on parent: AccountID, name: String, target: Money,
                  targetDate: String?) async throws(BankError) -> GoalRecord {
        let account = try state.openGoal(owner: owner, on: parent)
        let now = Clock.now()
        let goal = GoalRecord(id: account.id, account: parent, owner: owner, name: name, target: target,
                              targetDate: targetDate, saved: .zero, createdAt: now)
        goals[goal.id] = goal
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sequencer.submit([GoalAction.created.event(goal)], at: now, body: { db in
                try GoalRecords.insert(db, goal, account: account)
            }, completion: { continuation.resume() })
        }
        return goal
    }

    /// The command moving `amount` into (`withdraw` false) or out of `user`'s goal `goal`, between it and its
    /// account; `not_found` when `goal` was never a goal of `user`. A deleted goal still gets its command, so
    /// that a retry with an idempotency key replays; anything new on it is refused by the ledger (`not_found`).
    func goalCommand(_ goal: AccountID, withdraw: Bool, amount: Money, by user: UserID) throws(BankError) -> LedgerCommand {
        guard let found = state.accounts[goal], found.kind == .goal, found.owner == user, let parent = found.parent else {
            throw .notFound("no goal \(goal)")
        }
        return withdraw ? .goalWithdraw(goal: goal, account: parent, amount: amount)
            : .goalFund(account: parent, goal: goal, amount: amount)
    }

    /// Deletes `owner`'s goal `id`: what it holds goes back to its account, then the goal closes, all in one
    /// commit with the `balance` event of the account and the goal's `deleted` event. Like `submit`, it is
    /// applied in memory before this returns (so it keeps its place in the order of money ops) and
    /// `completion` runs after the commit, or at once with the refusal.
    func deleteGoal(_ id: AccountID, by owner: UserID,
                    completion: @escaping @Sendable (Result<DeletedGoal, BankError>) -> Void) {
        let now = Clock.now()
        let returned: AppliedTransaction?
        do {
            returned = try state.deleteGoal(id, by: owner, at: now)
        } catch {
            completion(.failure(error))
            return
        }
        guard let goal = goals.removeValue(forKey: id) else { preconditionFailure("an open goal has its details") }
        let deleted = goal.holding(.zero)
        let outcome = returned.map { txn in
            MoneyOutcome(transaction: txn.id, command: txn.command, note: nil, at: now,
                         balance: txn.balanceAfter(goal.account) ?? .zero, replayed: false, goal: deleted)
        }
        let balance = state.accounts[goal.account]?.balance ?? .zero
        let drafts = (returned.map(LedgerEvents.drafts) ?? []) + [GoalAction.deleted.event(deleted)]
        let balances = returned?.postings.map { BalanceWrite(account: $0.account, balance: $0.balanceAfter) } ?? []
        let result = DeletedGoal(goal: deleted, returned: outcome, balance: balance)
        sequencer.submit(drafts, at: now, balances: balances, writing: { db, events in
            if let returned {
                try LedgerRecords.insertTransaction(db, returned, idempotencyKey: nil,
                                                    seqs: LedgerEvents.postingSeqs(for: returned, events: events))
            }
            try LedgerRecords.updateStatus(db, id, .closed)
        }, completion: { completion(.success(result)) })
    }

    /// For a goal movement just applied, its goal holding what the movement left; nil for other transactions.
    func goal(after applied: AppliedTransaction) -> GoalRecord? {
        guard let id = applied.command.goal, let saved = applied.balanceAfter(id) else { return nil }
        guard let goal = goals[id] else { preconditionFailure("an open goal has its details") }
        return goal.holding(saved)
    }
}
