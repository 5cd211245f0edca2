import BankCore
import BankStorage

/// The receipts one pass of the outbox worker sends: derived from the transactions committed after the receipt
/// cursor, at most `limit` of them, instead of written as outbox rows in each transaction's own commit.
///
/// Deposits, withdrawals and transfers (also a standing order's and an initial deposit) get a receipt; goal
/// movements do not. Each goes to the acting user (`transactions.user_id`) as read now, by `Hub.receiptMessage`.
struct ReceiptBatch: Sendable {
    /// One receipt to deliver and then record.
    struct Receipt: Sendable {
        let transaction: TransactionID
        /// Its transaction's place in the order receipts are read.
        let position: ReceiptPosition
        let at: Timestamp
        let message: Notifier.Message
    }

    /// Where the cursor stood when read.
    let from: ReceiptPosition
    /// The position of the last transaction read (the cursor's new place once every receipt is recorded);
    /// `from` when none.
    let through: ReceiptPosition
    /// How many transactions were read (a full batch means more may wait).
    let read: Int
    let receipts: [Receipt]

    /// No receipts (another hub holds the receipt cursor this pass).
    static let none = ReceiptBatch(from: .start, through: .start, read: 0, receipts: [])

    /// Whether `kind` gets a receipt (docs/protocol.md "Notifications").
    static func receipted(_ kind: TransactionKind) -> Bool {
        switch kind {
        case .deposit, .withdrawal, .transfer: true
        case .goalFund, .goalWithdraw: false
        }
    }

    /// Reads the cursor and the transactions after it that are below `horizon` (nil with one writer; on
    /// PostgreSQL `WorkClaims.receiptHorizon`, read on `db` before this), and renders their receipts.
    static func read(_ db: any SQLDatabase, horizon: Int64?, limit: Int) throws -> ReceiptBatch {
        let from = try ReceiptRecords.cursor(db)
        let sources = try ReceiptRecords.transactions(db, after: from, horizon: horizon, limit: limit)
        var users: [UserID: UserRecord] = [:]
        var receipts: [Receipt] = []
        for source in sources where receipted(source.transaction.kind) {
            let txn = source.transaction
            guard let user = try users[txn.user] ?? UserRecords.user(db, id: txn.user) else {
                preconditionFailure("transactions.user_id references users")
            }
            users[txn.user] = user
            let outcome = MoneyOutcome(transaction: txn.id, command: txn.command, note: txn.note, at: txn.at,
                                       balance: source.balance, replayed: false)
            receipts.append(Receipt(transaction: txn.id, position: source.position, at: txn.at,
                                    message: Hub.receiptMessage(outcome, to: user)))
        }
        let through = sources.last?.position ?? from
        precondition(through >= from, "transactions are read after the cursor")
        return ReceiptBatch(from: from, through: through, read: sources.count, receipts: receipts)
    }

    /// The batch cut after its first `delivered` receipts (the worker stopped mid-pass): the cursor moves only
    /// past those, so the rest are read again after restart.
    func prefix(_ delivered: Int) -> ReceiptBatch {
        precondition(delivered >= 0 && delivered <= receipts.count, "a prefix of the receipts")
        guard delivered < receipts.count else { return self }
        let kept = Array(receipts.prefix(delivered))
        return ReceiptBatch(from: from, through: kept.last?.position ?? from, read: read, receipts: kept)
    }

    /// The message as a sink takes it, before it has a row (`receiptOf` names it).
    static func outboxRecord(_ receipt: Receipt) -> OutboxRecord {
        let message = receipt.message
        return OutboxRecord.receipt(of: receipt.transaction, channel: message.channel.rawValue,
                                    recipient: message.recipient, subject: message.subject, body: message.body,
                                    at: receipt.at)
    }
}
