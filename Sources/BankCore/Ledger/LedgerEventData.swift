/// The `data` text of the ledger's `balance` and `transfer` events (see the Events table in docs/protocol.md).
///
/// One function per kind, used when the event is published live (BankHub's `LedgerEvents`), when it is derived
/// again from its posting for a replay (BankStore's `DerivedEvents`) and when the PostgreSQL ledger writes it
/// (BankPostgres's `LedgerEventText`), so a resumed subscriber receives the same bytes as a live one, on
/// either store. The text is concatenated: every value is digits, a money amount or an RFC 3339
/// time, none of which needs JSON escaping, and the key order is the one `JSONWriter` gives.
public enum LedgerEventData {
    /// `{"account":"1001","balance":"12.34","txn":"7","at":"2026-01-01T00:00:00.000Z"}`
    public static func balance(account: AccountID, balance: Money, txn: TransactionID, at: Timestamp) -> String {
        #"{"account":"\#(account.description)","balance":"\#(balance.description)","txn":"\#(txn.description)","at":"\#(at.rfc3339)"}"#
    }

    /// A completed transfer, the same text on the payer's and the payee's stream.
    public static func transfer(txn: TransactionID, from: AccountID, to: AccountID, amount: Money,
                                at: Timestamp) -> String {
        #"{"txn":"\#(txn.description)","from":"\#(from.description)","to":"\#(to.description)","amount":"\#(amount.description)","status":"completed","at":"\#(at.rfc3339)"}"#
    }
}
