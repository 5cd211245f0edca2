import BankCore
import BankStorage
import BankWire

/// The events a ledger transaction causes (see the Events table in docs/protocol.md).
enum LedgerEvents {
    /// A `balance` event on each customer account whose balance changed, and for a transfer a `transfer` event
    /// on both accounts' streams, in that order. The data text comes from `LedgerEventData`, the one renderer
    /// the replay of derived events uses too.
    ///
    /// The events on a customer account's stream are `derived`: they are not stored as `events` rows but as
    /// the seq on the account's posting (schema migration 3), the `balance` event at that seq and a
    /// transfer's `transfer` event at the next, and a replay derives them again (`DerivedEvents`). A
    /// `transfer` event on the cash account's stream had no posting seq of its own and was stored as a row;
    /// the ledger now refuses transfers to the bank's cash account (`not_found`), so only old databases hold one.
    ///
    /// A savings goal's account has no stream anyone can follow (it is internal, `not_found` to `subscribe`),
    /// so its postings carry no seq and cause no `balance` event; the goal's owner learns of the movement from
    /// the `goal` event on `user:ID` that the goal ops add, and from the `balance` event of the customer account.
    static func drafts(for txn: AppliedTransaction) -> [EventDraft] {
        var drafts: [EventDraft] = []
        drafts.reserveCapacity(4)
        for posting in txn.postings where hasStream(posting, in: txn) {
            drafts.append(EventDraft(stream: .account(posting.account), kind: "balance", json:
                LedgerEventData.balance(account: posting.account, balance: posting.balanceAfter, txn: txn.id,
                                        at: txn.at), derived: true))
        }
        if case .transfer(let from, let to, let amount) = txn.command {
            let json = LedgerEventData.transfer(txn: txn.id, from: from, to: to, amount: amount, at: txn.at)
            drafts.append(EventDraft(stream: .account(from), kind: "transfer", json: json, derived: from != .cash))
            drafts.append(EventDraft(stream: .account(to), kind: "transfer", json: json, derived: to != .cash))
        }
        return drafts
    }

    /// The seq to store on each of `txn`'s postings (nil for the cash and goal accounts'), given the events `drafts`
    /// received: the seq of the posting's `balance` event. Stops the process if a transfer's `transfer`
    /// event did not get the next seq, which replay would derive.
    static func postingSeqs(for txn: AppliedTransaction, events: [StoredEvent]) -> [Int64?] {
        var index = 0
        let seqs = txn.postings.map { posting -> Int64? in
            guard hasStream(posting, in: txn) else { return nil }
            defer { index += 1 }
            assert(events[index].kind == "balance" && events[index].stream == StreamName.account(posting.account).description)
            return events[index].seq
        }
        if txn.kind == .transfer {
            for (posting, seq) in zip(txn.postings, seqs) {
                guard let seq else { continue }
                let transfer = events[index]
                index += 1
                assert(transfer.kind == "transfer" && transfer.stream == StreamName.account(posting.account).description)
                precondition(transfer.seq == seq + 1, "a transfer event follows its balance event on the stream")
            }
        }
        return seqs
    }

    /// Whether a posting's account has a customer-visible stream: not the cash account, not a goal account.
    private static func hasStream(_ posting: Posting, in txn: AppliedTransaction) -> Bool {
        posting.account != .cash && posting.account != txn.command.goal
    }

    static func rejectedTransfer(_ command: LedgerCommand, reason: ErrorCode, at: Timestamp) -> EventDraft {
        EventDraft(stream: .account(command.debited), kind: "transfer", data: [
            "txn": .null, "from": .string(command.debited.description), "to": .string(command.credited.description),
            "amount": .string(command.amount.description), "status": "rejected", "reason": .string(reason.rawValue),
            "at": .string(at.rfc3339),
        ])
    }
}
