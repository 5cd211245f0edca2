import BankCore

/// A message to a person, as stored in `outbox` (schema migration 2).
public struct OutboxRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Waiting for its first or next attempt (at `nextAttemptAt`).
        case pending
        /// Accepted by its sink (the log, or an SMTP server's 250 after DATA).
        case sent
        /// Every attempt failed; `lastError` says why the last one did.
        case failed
    }

    public let id: Int64
    /// "sms" or "email".
    public let channel: String
    public let recipient: String
    public let subject: String
    public let body: String
    public let status: Status
    /// Delivery attempts so far (a message sent at the first try has 1).
    public let attempts: Int
    public let nextAttemptAt: Timestamp
    public let lastError: String?
    public let createdAt: Timestamp
    public let sentAt: Timestamp?
    /// For a receipt delivered before it has a row (derived from the ledger), its transaction: the SMTP sink
    /// names the message after it. Nil for a row read from the table.
    public var receiptOf: TransactionID? = nil
}

extension OutboxRecord {
    /// A receipt as a sink takes it before it has a row (id 0): pending, never attempted, named by its transaction.
    public static func receipt(of transaction: TransactionID, channel: String, recipient: String, subject: String,
                               body: String, at: Timestamp) -> OutboxRecord {
        OutboxRecord(id: 0, channel: channel, recipient: recipient, subject: subject, body: body, status: .pending,
                     attempts: 0, nextAttemptAt: at, lastError: nil, createdAt: at, sentAt: nil, receiptOf: transaction)
    }
}

/// The outbox: messages are inserted by the notifier in the same group commit as other work, and taken,
/// marked sent or rescheduled by the one outbox worker.
public enum OutboxRecords {
    /// The longest `last_error` kept; a server's reply text can be long.
    public static let errorLengthMax = 500

    /// Queues a message for delivery now; returns its id.
    @discardableResult
    public static func insert(_ db: any SQLDatabase, channel: String, recipient: String, subject: String,
                              body: String, at: Timestamp) throws -> Int64 {
        precondition(channel == "sms" || channel == "email", "the schema allows sms and email only")
        precondition(!recipient.isEmpty, "a message needs a recipient")
        return try insertedID(db.prepare("""
            INSERT INTO outbox(channel, recipient, subject, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
            RETURNING id
            """).queryOne(channel, recipient, subject, body, at.milliseconds, at.milliseconds) { $0.int64(0) })
    }

    /// The outcome of a message's first attempt, made before its row existed (a receipt derived from the ledger).
    public enum FirstAttempt: Sendable {
        /// Accepted by its sink at that time.
        case sent(at: Timestamp)
        /// Refused: retried at `nextAttemptAt` by the usual path, or `failed` for good without one.
        case failed(error: String, nextAttemptAt: Timestamp?)
    }

    /// Records a message already attempted once: `sent`, or `pending` for its retry, or `failed`; returns its id.
    @discardableResult
    public static func insertAttempted(_ db: any SQLDatabase, channel: String, recipient: String, subject: String,
                                       body: String, createdAt: Timestamp, attempt: FirstAttempt) throws -> Int64 {
        precondition(channel == "sms" || channel == "email", "the schema allows sms and email only")
        precondition(!recipient.isEmpty, "a message needs a recipient")
        switch attempt {
        case .sent(let at):
            return try insertedID(db.prepare("""
                INSERT INTO outbox(channel, recipient, subject, body, status, attempts, next_attempt_at, created_at, sent_at)
                VALUES (?, ?, ?, ?, 'sent', 1, ?, ?, ?) RETURNING id
                """).queryOne(channel, recipient, subject, body, createdAt.milliseconds, createdAt.milliseconds, at.milliseconds) { $0.int64(0) })
        case .failed(let error, let next):
            return try insertedID(db.prepare("""
                INSERT INTO outbox(channel, recipient, subject, body, status, attempts, next_attempt_at, last_error, created_at)
                VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id
                """).queryOne(channel, recipient, subject, body, next == nil ? "failed" : "pending",
                              (next ?? createdAt).milliseconds, String(error.prefix(errorLengthMax)),
                              createdAt.milliseconds) { $0.int64(0) })
        }
    }

    private static func insertedID(_ id: Int64?) -> Int64 {
        guard let id else { preconditionFailure("INSERT ... RETURNING returns the new row") }
        return id
    }

    /// Pending messages whose next attempt is due at `now`, oldest due first, at most `limit`.
    public static func due(_ db: any SQLDatabase, limit: Int, now: Timestamp) throws -> [OutboxRecord] {
        precondition(limit > 0, "a positive batch")
        return try db.prepare(columns + """
             FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
            """).query(now.milliseconds, limit, row: record)
    }

    /// How many messages wait to be sent (index `outbox_pending`, so cheap enough for every metrics scrape).
    public static func pendingCount(_ db: any SQLDatabase) throws -> Int {
        try db.prepare("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").queryOne { $0.int64(0) }.map(Int.init) ?? 0
    }

    /// The pending messages due by `now`: how many, and when the earliest of them fell due (nil when none is). For
    /// the metrics scrape: a range of `outbox_pending` (SQLite) or `outbox_due` (PostgreSQL), so as cheap as
    /// `pendingCount`.
    public static func dueBacklog(_ db: any SQLDatabase, now: Timestamp) throws -> (count: Int, earliest: Timestamp?) {
        try db.prepare("""
            SELECT COUNT(*), MIN(next_attempt_at) FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
            """).queryOne(now.milliseconds) { row in
            (Int(row.int64(0)), row.optionalInt64(1).map { Timestamp(milliseconds: $0) })
        } ?? (0, nil)
    }

    /// When the earliest pending message is due, or nil when none is pending.
    public static func nextDue(_ db: any SQLDatabase) throws -> Timestamp? {
        try db.prepare("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'")
            .queryOne { $0.optionalInt64(0) }?.map { Timestamp(milliseconds: $0) }
    }

    /// The message was delivered: `sent`, one more attempt counted. False when it was no longer pending: another
    /// hub on the same database delivered and recorded it first (delivery is at least once).
    public static func markSent(_ db: any SQLDatabase, id: Int64, at: Timestamp) throws -> Bool {
        try db.prepare("""
            UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL
            WHERE id = ? AND status = 'pending'
            """).run(at.milliseconds, id)
        return db.changes == 1
    }

    /// An attempt failed: one more attempt counted and the error kept. With `nextAttemptAt` the message stays
    /// `pending` until then; without it the message is `failed` for good. False when it was no longer pending
    /// (another hub recorded it first).
    public static func markRetry(_ db: any SQLDatabase, id: Int64, error: String,
                                 nextAttemptAt: Timestamp?) throws -> Bool {
        let kept = String(error.prefix(errorLengthMax))
        if let nextAttemptAt {
            try db.prepare("""
                UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
                WHERE id = ? AND status = 'pending'
                """).run(kept, nextAttemptAt.milliseconds, id)
        } else {
            try db.prepare("""
                UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND status = 'pending'
                """).run(kept, id)
        }
        return db.changes == 1
    }

    /// The newest messages first, at most `limit`.
    public static func recent(_ db: any SQLDatabase, limit: Int) throws -> [OutboxRecord] {
        precondition(limit > 0, "a positive limit")
        return try db.prepare(columns + " FROM outbox ORDER BY id DESC LIMIT ?").query(limit, row: record)
    }

    /// The columns `record` reads, in its order (also read by claims: `WorkClaims`).
    public static let columnList = """
        id, channel, recipient, subject, body, status, attempts, next_attempt_at, last_error, created_at, sent_at
        """

    private static let columns = "SELECT " + columnList

    /// The message in a row of `columnList`.
    public static func record(_ row: any SQLRow) -> OutboxRecord {
        OutboxRecord(id: row.int64(0), channel: row.string(1), recipient: row.string(2), subject: row.string(3),
                     body: row.string(4), status: OutboxRecord.Status(rawValue: row.string(5)) ?? .failed,
                     attempts: Int(row.int64(6)), nextAttemptAt: Timestamp(milliseconds: row.int64(7)),
                     lastError: row.optionalString(8), createdAt: Timestamp(milliseconds: row.int64(9)),
                     sentAt: row.optionalInt64(10).map { Timestamp(milliseconds: $0) })
    }
}
