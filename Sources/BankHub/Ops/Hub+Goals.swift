import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// goals, goal_create, goal_fund, goal_withdraw, goal_delete: savings goals.
///
/// A goal's money is a ledger account of its own (`LedgerState+Goals.swift`); each change commits with a
/// `goal` event `{action, goal}` on the owner's `user:ID` stream, and a movement with the usual `balance`
/// event on the goal's account. Someone else's goal is `not_found`.
extension Hub {
    func listGoals(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        respond(responder) { [readers] in
            let goals = try await readers.read { db in try GoalRecords.goals(db, ownedBy: user) }
            return ["goals": .array(goals.map(WireObjects.goal))]
        }
    }

    /// `goal_create {account, name, target, target_date?}` on one of the caller's open accounts.
    func createGoal(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        let account = try args.account("account")
        let name = try Self.requiredText(args, "name", lengthMax: GoalRules.nameLengthMax)
        let target = try args.amount("target")
        let targetDate = try args.optionalString("target_date").map { text throws(BankError) in
            try GoalRules.targetDate(text)
        }
        respond(responder) { [ledger] in
            let goal = try await ledger.openGoal(owner: user, on: account, name: name, target: target,
                                                 targetDate: targetDate)
            return ["goal": WireObjects.goal(goal)]
        }
    }

    /// `goal_fund` / `goal_withdraw {goal, amount, idempotency_key?}`: money between the goal and its account,
    /// entering the ledger in arrival order like every money op. Answers `{txn, balance, goal}`: `balance` is
    /// the account's right after, `goal` the goal holding what it saved right after.
    func moveGoalMoney(_ op: Op, _ args: Arguments, from id: ConnectionID,
                       _ responder: Responder) async throws(BankError) {
        assert(op == .goalFund || op == .goalWithdraw, "moveGoalMoney moves goal money")
        let user = try session(of: id).user.id
        let goal = try args.account("goal")
        let amount = try args.amount()
        let key = try args.idempotencyKey()
        let command = try await ledger.goalCommand(goal, withdraw: op == .goalWithdraw, amount: amount, by: user)
        let request = MoneyRequest(command: command, user: user, note: nil, idempotencyKey: key)
        await ledger.submit(request) { result in
            responder.finish(result.map { outcome in
                guard case .object(var object) = Self.moneyResult(outcome) else { preconditionFailure("a result is an object") }
                object.append(key: "goal", value: outcome.goal.map(WireObjects.goal) ?? .null)
                return .object(object)
            })
        }
    }

    /// `goal_delete {goal}`: whatever the goal saved goes back to its account, then the goal is gone, in one
    /// commit. Answers `{goal, txn, balance}` (`txn` null when nothing was saved; `balance` the account's).
    func deleteGoal(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user.id
        let goal = try args.account("goal")
        // Awaited (not the commit, only the apply) so that it keeps its place among the money ops.
        await ledger.deleteGoal(goal, by: user) { result in
            responder.finish(result.map { deleted in
                let txn = deleted.returned.map {
                    WireObjects.transaction(id: $0.transaction, command: $0.command, note: nil, at: $0.at)
                }
                return ["goal": WireObjects.goal(deleted.goal), "txn": txn ?? .null,
                        "balance": .string(deleted.balance.description)]
            })
        }
    }
}
