import BankCore

/// Where a standing order stands. Raw values are stored and sent on the wire.
public enum StandingOrderStatus: String, Sendable, CaseIterable {
    /// Pays each period at its due time.
    case active
    /// Cancelled by its owner: no further payment.
    case cancelled
    /// Every one of its `count` payments was processed (paid or failed).
    case completed
}

/// A standing order as stored (schema migration 5), with its progress.
public struct StandingOrderRecord: Sendable, Equatable {
    public let id: Int64
    public let user: UserID
    public let from: AccountID
    public let to: AccountID
    public let amount: Money
    public let every: Recurrence
    public let start: Timestamp
    /// How many payments in all; nil: until cancelled.
    public let count: Int64?
    public let note: String?
    public var status: StandingOrderStatus
    /// Periods processed so far (`paid + failed`); the index of the next payment.
    public var nextIndex: Int64
    public var paid: Int64
    public var failed: Int64
    /// When the next payment is due; nil once the order has ended.
    public var nextDue: Timestamp?
    public let createdAt: Timestamp
    /// When it was cancelled or completed.
    public var endedAt: Timestamp?

    public init(id: Int64, user: UserID, from: AccountID, to: AccountID, amount: Money, every: Recurrence,
                start: Timestamp, count: Int64?, note: String?, status: StandingOrderStatus, nextIndex: Int64,
                paid: Int64, failed: Int64, nextDue: Timestamp?, createdAt: Timestamp, endedAt: Timestamp?) {
        self.id = id
        self.user = user
        self.from = from
        self.to = to
        self.amount = amount
        self.every = every
        self.start = start
        self.count = count
        self.note = note
        self.status = status
        self.nextIndex = nextIndex
        self.paid = paid
        self.failed = failed
        self.nextDue = nextDue
        self.createdAt = createdAt
        self.endedAt = endedAt
    }
}

/// One processed period of a standing order: paid by a transaction, or failed for a reason (an error code).
public struct StandingOrderPayment: Sendable, Equatable {
    public let order: Int64
    public let period: Int64
    public let due: Timestamp
    public let transaction: TransactionID?
    public let reason: String?
    public let at: Timestamp

    public init(order: Int64, period: Int64, due: Timestamp, transaction: TransactionID?, reason: String?,
                at: Timestamp) {
        precondition((transaction == nil) != (reason == nil), "a period is either paid or failed")
        self.order = order
        self.period = period
        self.due = due
        self.transaction = transaction
        self.reason = reason
        self.at = at
    }
}

/// Standing orders and their processed periods.
public enum OrderRecords {
    /// Inserts a new active order as `insert` does unless its user already has `activeMax` active orders: then
    /// nil and nothing is written (also for a user with no row; users are never deleted). The user's row is
    /// locked first (`UserRecords.lockForCounting`), so the count and the insert are one step for every writer
    /// of the database, whichever hub it belongs to.
    public static func insert(_ db: any SQLDatabase, _ order: StandingOrderRecord, activeMax: Int) throws -> Int64? {
        guard try UserRecords.lockForCounting(db, user: order.user) else { return nil }
        let active = try db.prepare("SELECT COUNT(*) FROM standing_orders WHERE user_id = ? AND status = 'active'")
            .queryOne(order.user.rawValue) { $0.int64(0) } ?? 0
        guard active < activeMax else { return nil }
        return try insert(db, order)
    }

    /// Inserts a new active order and returns the id the database gave it (`order.id` is not stored: hubs on one
    /// database never pick the same id). SQLite gives the next rowid, PostgreSQL the identity column's next value.
    public static func insert(_ db: any SQLDatabase, _ order: StandingOrderRecord) throws -> Int64 {
        precondition(order.status == .active && order.nextIndex == 0 && order.nextDue != nil, "a new order is active")
        guard let id = try db.prepare("""
            INSERT INTO standing_orders(user_id, from_account, to_account, amount, every, start_at, payments_max,
                                        note, status, next_index, next_due_at, paid, failed, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', 0, ?, 0, 0, ?) RETURNING id
            """).queryOne(order.user.rawValue, order.from.rawValue, order.to.rawValue, order.amount.cents,
                          order.every.rawValue, order.start.milliseconds, order.count, order.note,
                          order.nextDue?.milliseconds, order.createdAt.milliseconds, row: { $0.int64(0) })
        else { preconditionFailure("an insert returns its row's id") }
        return id
    }

    /// The highest order id stored, 0 when none.
    public static func lastID(_ db: any SQLDatabase) throws -> Int64 {
        try db.prepare("SELECT COALESCE(MAX(id), 0) FROM standing_orders").queryOne { $0.int64(0) } ?? 0
    }

    /// Every active order (the scheduler's book at start-up), oldest first.
    public static func active(_ db: any SQLDatabase) throws -> [StandingOrderRecord] {
        try db.prepare(columns + " WHERE status = 'active' ORDER BY id").query(row: record)
    }

    public static func order(_ db: any SQLDatabase, id: Int64) throws -> StandingOrderRecord? {
        try db.prepare(columns + " WHERE id = ?").queryOne(id, row: record)
    }

    /// A user's orders, newest first, at most `limit`, optionally of one status.
    public static func list(_ db: any SQLDatabase, user: UserID, status: StandingOrderStatus?,
                            limit: Int) throws -> [StandingOrderRecord] {
        precondition(limit > 0, "a list holds at least one order")
        // The CAST gives PostgreSQL a type for a NULL status; SQLite reads it the same.
        return try db.prepare(columns + " WHERE user_id = ? AND (CAST(? AS TEXT) IS NULL OR status = ?) ORDER BY id DESC LIMIT ?")
            .query(user.rawValue, status?.rawValue, status?.rawValue, limit, row: record)
    }

    /// Records one processed period and the order's progress after it (`order`, as the scheduler computed
    /// it). Runs in the commit of the period's transfer, or of its failure. The order must still be at that
    /// period: anything else means two processings of one period, which stops the process.
    public static func recordPeriod(_ db: any SQLDatabase, _ payment: StandingOrderPayment,
                                    orderAfter order: StandingOrderRecord) throws {
        precondition(order.id == payment.order && order.nextIndex == payment.period + 1, "progress of this period")
        try db.prepare("""
            INSERT INTO standing_order_payments(order_id, period, due_at, txn_id, reason, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """).run(payment.order, payment.period, payment.due.milliseconds, payment.transaction?.rawValue,
                     payment.reason, payment.at.milliseconds)
        try db.prepare("""
            UPDATE standing_orders SET status = ?, next_index = ?, next_due_at = ?, paid = ?, failed = ?, ended_at = ?
            WHERE id = ? AND next_index = ? AND status = 'active'
            """).run(order.status.rawValue, order.nextIndex, order.nextDue?.milliseconds, order.paid, order.failed,
                     order.endedAt?.milliseconds, order.id, payment.period)
        precondition(db.changes == 1, "standing order \(order.id) was not at period \(payment.period)")
    }

    /// Cancels an active order; false when it was not active (already ended).
    public static func cancel(_ db: any SQLDatabase, id: Int64, at: Timestamp) throws -> Bool {
        try db.prepare("""
            UPDATE standing_orders SET status = 'cancelled', next_due_at = NULL, ended_at = ?
            WHERE id = ? AND status = 'active'
            """).run(at.milliseconds, id)
        return db.changes == 1
    }

    /// The processed periods of an order, newest first, at most `limit`.
    public static func payments(_ db: any SQLDatabase, order: Int64, limit: Int) throws -> [StandingOrderPayment] {
        precondition(limit > 0, "a list holds at least one payment")
        return try db.prepare("""
            SELECT order_id, period, due_at, txn_id, reason, created_at FROM standing_order_payments
            WHERE order_id = ? ORDER BY period DESC LIMIT ?
            """).query(order, limit) { row in
            StandingOrderPayment(order: row.int64(0), period: row.int64(1), due: Timestamp(milliseconds: row.int64(2)),
                                 transaction: row.optionalInt64(3).map(TransactionID.init), reason: row.optionalString(4),
                                 at: Timestamp(milliseconds: row.int64(5)))
        }
    }

    /// The columns `record` reads, in its order (also read by claims: `WorkClaims`).
    public static let columnList = """
        id, user_id, from_account, to_account, amount, every, start_at, payments_max, note, status, next_index,
        next_due_at, paid, failed, created_at, ended_at
        """

    private static let columns = "SELECT " + columnList + " FROM standing_orders"

    /// The order in a row of `columnList`.
    public static func record(_ row: any SQLRow) -> StandingOrderRecord {
        StandingOrderRecord(
            id: row.int64(0), user: UserID(row.int64(1)), from: AccountID(row.int64(2)), to: AccountID(row.int64(3)),
            amount: Money(cents: row.int64(4)), every: Recurrence(rawValue: row.string(5)) ?? .month,
            start: Timestamp(milliseconds: row.int64(6)), count: row.optionalInt64(7), note: row.optionalString(8),
            status: StandingOrderStatus(rawValue: row.string(9)) ?? .cancelled, nextIndex: row.int64(10),
            paid: row.int64(12), failed: row.int64(13), nextDue: row.optionalInt64(11).map { Timestamp(milliseconds: $0) },
            createdAt: Timestamp(milliseconds: row.int64(14)), endedAt: row.optionalInt64(15).map { Timestamp(milliseconds: $0) })
    }
}
