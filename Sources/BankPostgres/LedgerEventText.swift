import BankCore

/// The events of a ledger transaction and their `data` text, as BankHub's `LedgerEvents` and BankStore's
/// `LedgerEventData` make them: a `balance` event on each customer account whose balance changed, then for a
/// transfer a `transfer` event on the payer's and the payee's stream. A copy, because BankPostgres depends on
/// BankCore only; the renderers belong in BankCore, where both stores can share them.
enum LedgerEventText {
    struct Draft {
        let stream: StreamName
        let kind: String
        let data: String
    }

    static func drafts(for txn: AppliedTransaction, id: TransactionID) -> [Draft] {
        var drafts: [Draft] = []
        drafts.reserveCapacity(4)
        for posting in txn.postings where posting.account != .cash && posting.account != txn.command.goal {
            drafts.append(Draft(stream: .account(posting.account), kind: "balance",
                                data: balance(account: posting.account, balance: posting.balanceAfter, txn: id,
                                              at: txn.at)))
        }
        if case .transfer(let from, let to, let amount) = txn.command {
            let text = transfer(txn: id, from: from, to: to, amount: amount, at: txn.at)
            drafts.append(Draft(stream: .account(from), kind: "transfer", data: text))
            drafts.append(Draft(stream: .account(to), kind: "transfer", data: text))
        }
        return drafts
    }

    static func balance(account: AccountID, balance: Money, txn: TransactionID, at: Timestamp) -> String {
        #"{"account":"\#(account.description)","balance":"\#(balance.description)","txn":"\#(txn.description)","at":"\#(at.rfc3339)"}"#
    }

    static func transfer(txn: TransactionID, from: AccountID, to: AccountID, amount: Money, at: Timestamp) -> String {
        #"{"txn":"\#(txn.description)","from":"\#(from.description)","to":"\#(to.description)","amount":"\#(amount.description)","status":"completed","at":"\#(at.rfc3339)"}"#
    }
}
