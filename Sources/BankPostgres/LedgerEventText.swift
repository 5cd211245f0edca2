import BankCore

/// The events of a ledger transaction and their `data` text, as BankHub's `LedgerEvents` and BankStore's
/// `LedgerEventData` make them: a `balance` event on each customer account whose balance changed, then for a
/// transfer a `transfer` event on the payer's and the payee's stream; the text from BankCore's
/// `LedgerEventData`, the renderer both stores share.
enum LedgerEventText {
    static func drafts(for txn: AppliedTransaction, id: TransactionID) -> [LedgerEventDraft] {
        var drafts: [LedgerEventDraft] = []
        drafts.reserveCapacity(4)
        for posting in txn.postings where posting.account != .cash && posting.account != txn.command.goal {
            let text = LedgerEventData.balance(account: posting.account, balance: posting.balanceAfter, txn: id,
                                               at: txn.at)
            drafts.append(LedgerEventDraft(stream: .account(posting.account), kind: "balance", data: text))
        }
        if case .transfer(let from, let to, let amount) = txn.command {
            let text = LedgerEventData.transfer(txn: id, from: from, to: to, amount: amount, at: txn.at)
            drafts.append(LedgerEventDraft(stream: .account(from), kind: "transfer", data: text))
            drafts.append(LedgerEventDraft(stream: .account(to), kind: "transfer", data: text))
        }
        return drafts
    }

    /// The streams of `drafts(for: txn, …)`, in the same order, without rendering anything: they do not depend
    /// on the transaction's id, so a batch takes the seqs in the same round trip as the ids (`LedgerWrite`).
    static func streams(for txn: AppliedTransaction) -> [StreamName] {
        var streams: [StreamName] = []
        streams.reserveCapacity(4)
        for posting in txn.postings where posting.account != .cash && posting.account != txn.command.goal {
            streams.append(.account(posting.account))
        }
        if case .transfer(let from, let to, _) = txn.command {
            streams.append(.account(from))
            streams.append(.account(to))
        }
        return streams
    }
}
