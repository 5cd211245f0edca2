import BankCore
import BankWire

/// The events a ledger transaction causes (see the Events table in docs/protocol.md).
enum LedgerEvents {
    /// A `balance` event on each customer account whose balance changed, and for a transfer a `transfer` event
    /// on both accounts' streams.
    ///
    /// The data objects are built as text: every value is digits, a money amount or an RFC 3339 time, none of
    /// which needs JSON escaping, and the key order matches what `JSONWriter` would give. This runs once per
    /// transaction inside the ledger actor, so it stays off the JSON tree and its allocations.
    static func drafts(for txn: AppliedTransaction) -> [EventDraft] {
        var drafts: [EventDraft] = []
        drafts.reserveCapacity(4)
        let id = txn.id.description
        let at = txn.at.rfc3339
        for posting in txn.postings where posting.account != .cash {
            let account = posting.account.description
            drafts.append(EventDraft(stream: .account(posting.account), kind: "balance", json:
                #"{"account":"\#(account)","balance":"\#(posting.balanceAfter.description)","txn":"\#(id)","at":"\#(at)"}"#))
        }
        if case .transfer(let from, let to, let amount) = txn.command {
            let json = #"{"txn":"\#(id)","from":"\#(from.description)","to":"\#(to.description)","amount":"\#(amount.description)","status":"completed","at":"\#(at)"}"#
            drafts.append(EventDraft(stream: .account(from), kind: "transfer", json: json))
            drafts.append(EventDraft(stream: .account(to), kind: "transfer", json: json))
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
