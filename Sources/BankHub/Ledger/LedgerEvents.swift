import BankCore
import BankWire

/// The events a ledger transaction causes (see the Events table in docs/protocol.md).
enum LedgerEvents {
    /// A `balance` event on each customer account whose balance changed, and for a transfer a `transfer` event
    /// on both accounts' streams.
    static func drafts(for txn: AppliedTransaction) -> [EventDraft] {
        var drafts: [EventDraft] = []
        for posting in txn.postings where posting.account != .cash {
            drafts.append(EventDraft(stream: .account(posting.account), kind: "balance", data: [
                "account": .string(posting.account.description), "balance": .string(posting.balanceAfter.description),
                "txn": .string(txn.id.description), "at": .string(txn.at.rfc3339),
            ]))
        }
        if case .transfer(let from, let to, let amount) = txn.command {
            let data: JSONValue = [
                "txn": .string(txn.id.description), "from": .string(from.description), "to": .string(to.description),
                "amount": .string(amount.description), "status": "completed", "at": .string(txn.at.rfc3339),
            ]
            drafts.append(EventDraft(stream: .account(from), kind: "transfer", data: data))
            drafts.append(EventDraft(stream: .account(to), kind: "transfer", data: data))
        }
        return drafts
    }

    static func rejectedTransfer(_ command: LedgerCommand, reason: ErrorCode, at: Timestamp) -> EventDraft {
        EventDraft(stream: .account(command.debited), kind: "transfer", data: [
            "txn": .null, "from": .string(command.debited.description), "to": .string(command.credited.description),
            "amount": .string(command.amount.description), "status": "rejected", "reason": .string(reason.rawValue),
            "at": .string(at.rfc3339),
        ])
    }
}
