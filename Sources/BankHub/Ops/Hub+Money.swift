import BankCore
import BankWire
import WebSocketTransport

/// deposit, withdraw, transfer.
extension Hub {
    func moveMoney(_ op: String, _ args: Arguments, from id: ConnectionID,
                   _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user.id
        let amount = try args.amount()
        let command: LedgerCommand
        switch op {
        case "deposit": command = .deposit(account: try args.account("account"), amount: amount)
        case "withdraw": command = .withdraw(account: try args.account("account"), amount: amount)
        default: command = .transfer(from: try args.account("from"), to: try args.account("to"), amount: amount)
        }
        let request = MoneyRequest(command: command, user: user,
                                   note: try args.optionalText("note", lengthMax: UserInputRules.noteLengthMax),
                                   idempotencyKey: try args.idempotencyKey())
        // Awaited so that requests enter the ledger in the order they arrived; the reply comes after commit.
        await ledger.submit(request) { result in
            responder.finish(result.map(Self.moneyResult))
        }
    }

    static func moneyResult(_ outcome: MoneyOutcome) -> JSONValue {
        var result: JSONObject = [
            "txn": WireObjects.transaction(id: outcome.transaction, command: outcome.command, note: outcome.note,
                                           at: outcome.at),
            "balance": .string(outcome.balance.description),
        ]
        if outcome.replayed { result.append(key: "replayed", value: true) }
        return .object(result)
    }
}
