import BankCore
import BankStorage

/// The scheduler's picture of the active standing orders: which period of which order is due, and which
/// orders have work under way (a payment being made, a cancellation being written) and must not be touched.
///
/// Pure: no clock, no I/O. The scheduler passes the time in, which is how its tests drive it with a fake
/// clock. Progress is a pure function of the order (`advanced`), so the scheduler computes the order's next
/// state before the commit that records it, and the book takes it only once that commit is durable.
struct StandingOrderBook {
    /// One period of one order to process now.
    struct Plan: Sendable, Equatable {
        let order: StandingOrderRecord
        /// The payment's index: 0 for the first.
        let period: Int64
        let due: Timestamp
    }

    /// Active orders by id (ended ones leave the book).
    private(set) var orders: [Int64: StandingOrderRecord] = [:]
    /// Orders with work under way: not offered by `takeDue` until `finish` or `release`.
    private(set) var busy: Set<Int64> = []

    init(orders: [StandingOrderRecord]) {
        for order in orders { add(order) }
    }

    /// Takes a committed active order in.
    mutating func add(_ order: StandingOrderRecord) {
        precondition(order.status == .active && order.nextDue != nil, "the book holds active orders only")
        let previous = orders.updateValue(order, forKey: order.id)
        precondition(previous == nil, "order \(order.id) is in the book once")
    }

    func order(_ id: Int64) -> StandingOrderRecord? { orders[id] }

    func isBusy(_ id: Int64) -> Bool { busy.contains(id) }

    /// Active orders of `user`.
    func activeCount(of user: UserID) -> Int { orders.values.reduce(0) { $0 + ($1.user == user ? 1 : 0) } }

    /// The periods due at `now` of orders not busy, earliest due first, at most `limit`, one per order (an
    /// order's next period can only follow once this one is recorded). Each order taken becomes busy.
    mutating func takeDue(now: Timestamp, limit: Int) -> [Plan] {
        precondition(limit > 0, "take at least one")
        let due = orders.values.filter { order in
            guard let next = order.nextDue else { return false }
            return next <= now && !busy.contains(order.id)
        }.sorted { ($0.nextDue!, $0.id) < ($1.nextDue!, $1.id) }.prefix(limit)
        return due.map { order in
            busy.insert(order.id)
            return Plan(order: order, period: order.nextIndex, due: order.nextDue!)
        }
    }

    /// An order the database found due and this hub claimed (several hubs), as stored: taken in (replacing this
    /// book's copy) and made busy, with its current period. Nil when it is busy here (a cancellation).
    mutating func takeClaimed(_ order: StandingOrderRecord) -> Plan? {
        precondition(order.status == .active && order.nextDue != nil, "only an active order is due")
        guard !busy.contains(order.id), let due = order.nextDue else { return nil }
        orders[order.id] = order
        busy.insert(order.id)
        return Plan(order: order, period: order.nextIndex, due: due)
    }

    /// Drops an order that is not busy (several hubs: the database holds it, the book only what is under way).
    mutating func forget(_ id: Int64) {
        if !busy.contains(id) { orders[id] = nil }
    }

    /// Marks order `id` busy whether or not it is here (several hubs: a cancellation of an order this book does
    /// not hold); false when it is already busy.
    mutating func hold(_ id: Int64) -> Bool {
        busy.insert(id).inserted
    }

    /// Marks an order busy for other work (a cancellation); false when it is already busy or not here.
    mutating func claim(_ id: Int64) -> Bool {
        guard orders[id] != nil else { return false }
        return busy.insert(id).inserted
    }

    /// The period was recorded (paid or failed) and committed: the order moves on, or leaves when ended.
    mutating func finish(_ plan: Plan, after order: StandingOrderRecord) {
        let wasBusy = busy.remove(plan.order.id)
        precondition(wasBusy != nil, "finish follows takeDue")
        precondition(order.id == plan.order.id && order.nextIndex == plan.period + 1, "the order moved one period")
        if order.status == .active { orders[order.id] = order } else { orders[order.id] = nil }
    }

    /// The period could not be processed now (a transient error): it stays due and is offered again.
    mutating func release(_ id: Int64) {
        let wasBusy = busy.remove(id)
        precondition(wasBusy != nil, "release follows takeDue or claim")
    }

    /// The order left (cancelled).
    mutating func remove(_ id: Int64) {
        let wasBusy = busy.remove(id)
        precondition(wasBusy != nil, "an order is claimed before it is removed")
        orders[id] = nil
    }

    /// The earliest due time of an order not busy, or nil when none is waiting.
    var nextDue: Timestamp? {
        orders.values.lazy.filter { !busy.contains($0.id) }.compactMap(\.nextDue).min()
    }

    /// A new active order: its first payment is due at `start`.
    static func newOrder(id: Int64, user: UserID, from: AccountID, to: AccountID, amount: Money, every: Recurrence,
                         start: Timestamp, count: Int64?, note: String?, at: Timestamp) -> StandingOrderRecord {
        precondition(count.map { $0 >= 1 } ?? true, "an order makes at least one payment")
        return StandingOrderRecord(id: id, user: user, from: from, to: to, amount: amount, every: every, start: start,
                                   count: count, note: note, status: .active, nextIndex: 0, paid: 0, failed: 0,
                                   nextDue: start, createdAt: at, endedAt: nil)
    }

    /// `order` after its current period was processed at `at`: one more paid (or failed), the next period due
    /// at its occurrence, or the order completed after its last payment.
    static func advanced(_ order: StandingOrderRecord, paid: Bool, at: Timestamp) -> StandingOrderRecord {
        precondition(order.status == .active, "only an active order pays")
        var next = order
        next.nextIndex += 1
        if paid { next.paid += 1 } else { next.failed += 1 }
        if let count = order.count, next.nextIndex >= count {
            next.status = .completed
        } else if next.nextIndex > Recurrence.indexMax {
            next.status = .completed
        }
        if next.status == .active {
            next.nextDue = order.every.occurrence(next.nextIndex, from: order.start)
        } else {
            next.nextDue = nil
            next.endedAt = at
        }
        assert(next.paid + next.failed == next.nextIndex, "every processed period is paid or failed")
        return next
    }
}
