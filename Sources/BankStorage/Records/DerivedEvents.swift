import BankCore

/// The `balance` and `transfer` events of customer account streams, derived from postings and their
/// transactions (schema migration 3) rather than stored as `events` rows.
///
/// A posting with a seq stands for its `balance` event at that seq and, when its transaction is a transfer,
/// the `transfer` event at seq + 1; `LedgerEventData` renders their data exactly as the live events had it.
/// Per account, posting ids and seqs grow together (both are given in commit order), so the
/// `postings_account` index `(account_id, id)` finds the events after a seq by walking back from the newest
/// posting only as far as the resume point.
enum DerivedEvents {
    /// The account of an `account:ID` stream name, or nil for any other stream.
    static func account(of stream: String) -> Int64? {
        guard stream.hasPrefix(prefix) else { return nil }
        return Int64(stream.dropFirst(prefix.count))
    }

    /// The derived events of `account` with seq greater than `after`, in seq order; at least `limit` of them
    /// when there are that many (may be more: the caller merges and cuts).
    static func events(_ db: any SQLDatabase, account: Int64, stream: String, after: Int64,
                       limit: Int) throws -> [StoredEvent] {
        // The newest posting whose events are all at or before `after`, or that predates derived events.
        let floor = try db.prepare("""
            SELECT id FROM postings WHERE account_id = ? AND (seq IS NULL OR seq < ?) ORDER BY id DESC LIMIT 1
            """).queryOne(account, after) { $0.int64(0) } ?? 0
        var events: [StoredEvent] = []
        try db.prepare("""
            SELECT p.seq, p.balance_after, p.created_at, t.id, t.kind, t.amount, t.debit_account, t.credit_account
            FROM postings p JOIN transactions t ON t.id = p.txn_id
            WHERE p.account_id = ? AND p.id > ? AND p.seq IS NOT NULL ORDER BY p.id LIMIT ?
            """).query(account, floor, limit) { row in
            let seq = row.int64(0)
            let at = Timestamp(milliseconds: row.int64(2))
            let txn = TransactionID(row.int64(3))
            if seq > after {
                events.append(StoredEvent(stream: stream, seq: seq, kind: "balance", data: LedgerEventData.balance(
                    account: AccountID(account), balance: Money(cents: row.int64(1)), txn: txn, at: at),
                                          at: at.milliseconds))
            }
            if row.string(4) == TransactionKind.transfer.rawValue {
                events.append(StoredEvent(stream: stream, seq: seq + 1, kind: "transfer", data: LedgerEventData.transfer(
                    txn: txn, from: AccountID(row.int64(6)), to: AccountID(row.int64(7)),
                    amount: Money(cents: row.int64(5)), at: at), at: at.milliseconds))
            }
        }
        return events
    }

    /// The seq of the last derived event of `account`, 0 when it has none.
    static func head(_ db: any SQLDatabase, account: Int64) throws -> Int64 {
        try db.prepare("""
            SELECT p.seq + CASE WHEN t.kind = 'transfer' THEN 1 ELSE 0 END FROM postings p JOIN transactions t ON t.id = p.txn_id
            WHERE p.account_id = ? ORDER BY p.id DESC LIMIT 1
            """).queryOne(account) { $0.optionalInt64(0) ?? 0 } ?? 0
    }

    /// The seq of the last derived event of every account that has one, by stream name. Its newest posting
    /// tells: postings written since migration 3 all carry a seq (the cash account's none).
    static func heads(_ db: any SQLDatabase) throws -> [String: Int64] {
        var heads: [String: Int64] = [:]
        try db.prepare("""
            SELECT a.id, (SELECT p.seq + CASE WHEN t.kind = 'transfer' THEN 1 ELSE 0 END FROM postings p JOIN transactions t ON t.id = p.txn_id
                          WHERE p.account_id = a.id ORDER BY p.id DESC LIMIT 1)
            FROM accounts a
            """).query { row in
            if let head = row.optionalInt64(1) { heads[prefix + String(row.int64(0))] = head }
        }
        return heads
    }

    private static let prefix = "account:"
}
