import BankCore
import BankStorage
import BankWire

/// Standing orders, their `order` events and statements on the wire (docs/protocol.md "Standing orders",
/// "Statements").
extension WireObjects {
    static func standingOrder(_ order: StandingOrderRecord) -> JSONValue {
        ["id": id(order.id), "from": id(order.from), "to": id(order.to), "amount": .string(order.amount.description),
         "every": .string(order.every.rawValue), "start": .string(order.start.rfc3339),
         "count": order.count.map { .integer($0) } ?? .null, "note": optional(order.note),
         "status": .string(order.status.rawValue), "next_due": order.nextDue.map { .string($0.rfc3339) } ?? .null,
         "paid": .integer(order.paid), "failed": .integer(order.failed), "created_at": .string(order.createdAt.rfc3339),
         "ended_at": order.endedAt.map { .string($0.rfc3339) } ?? .null]
    }

    /// The `order` event of a paid period: the order as it stands after it, the transaction, the due time.
    static func orderPaid(_ order: StandingOrderRecord, _ outcome: MoneyOutcome, due: Timestamp) -> JSONValue {
        ["action": "paid", "order": standingOrder(order),
         "txn": transaction(id: outcome.transaction, command: outcome.command, note: outcome.note, at: outcome.at),
         "due": .string(due.rfc3339)]
    }

    /// The `order` event of a failed period: the order after it, the error code and message, the due time.
    static func orderFailed(_ order: StandingOrderRecord, _ error: BankError, due: Timestamp) -> JSONValue {
        ["action": "failed", "order": standingOrder(order), "reason": .string(error.code.rawValue),
         "message": .string(error.message), "due": .string(due.rfc3339)]
    }

    static func statement(_ page: StatementPage) -> JSONValue {
        var object: JSONObject = [
            "account": id(page.account), "month": .string(page.month.description),
            "opening": .string(page.totals.opening.description), "closing": .string(page.totals.closing.description),
            "credits": .string(page.totals.credits.description), "debits": .string(page.totals.debits.description),
            "count": .integer(page.totals.count), "entries": .array(page.entries.map(historyEntry)),
        ]
        if let next = page.next { object.append(key: "next", value: .string(String(next))) }
        return .object(object)
    }
}
