import BankCore
import BankStorage
import BankWire
import Logging

/// Makes the standing orders' payments when they fall due, and creates and cancels orders, one at a time per
/// order so that a cancellation never crosses a payment.
///
/// A look for due payments happens at least every `orderCheckIntervalMilliseconds` (one second), sooner when a
/// payment falls due earlier. Each due period becomes a normal transfer through `LedgerService` (the same
/// rules, events and receipt as the `transfer` op) whose commit also holds the period's row in
/// `standing_order_payments`, the order's progress and its `order` event on `user:ID`. So a period is paid
/// once: a crash before that commit leaves it due (the restarted hub pays it), a crash after it leaves it
/// recorded. The transfer's idempotency key `order/N/K` (a `/` no client key may contain) is a second guard.
/// A period refused by the ledger (insufficient funds, a locked or closed account) is recorded as failed in
/// one commit with its `order` event and a notification, and not retried; a transient error (the hub
/// shutting down) leaves it due for the next look.
///
/// On PostgreSQL (`Services.claims`) any number of hubs on the database run a scheduler, and the database, not
/// the book, says what is due: each look claims the due orders no other hub holds (`WorkClaims.claimOrders`,
/// `FOR UPDATE SKIP LOCKED`, a lease of `claimLeaseMilliseconds`), as stored, so an order is paid by whichever
/// hub claims it (one created on another hub too) and each period once. The commit that records a period
/// gives the claim back; a cancellation claims the order in its own commit (waiting while another hub pays
/// it). The book then holds only the orders this hub is working on.
actor StandingOrderScheduler {
    struct Services: Sendable {
        let ledger: any LedgerAuthority
        let sequencer: EventSequencer
        let readers: any StorageReaders
        let writer: any StorageWriter
        let notifier: Notifier
        /// Several hubs may share the database: due periods are claimed per order. Nil on SQLite.
        var claims: (any WorkClaims)? = nil
    }

    /// How long a claim of an order lasts: far longer than a payment takes. A hub that dies holding one
    /// leaves the order to the others once it ends.
    static let claimLeaseMilliseconds: Int64 = 120_000
    /// How long a cancellation waits for another hub's payment of the order to be recorded.
    static let cancelWaitMillisecondsMax = 5_000

    private var book: StandingOrderBook
    /// Cancellations waiting for the order's payment under way to be recorded.
    private var waiting: [Int64: [CheckedContinuation<Void, Never>]] = [:]
    private var loop: Task<Void, Never>?
    private var stopping = false
    private let services: Services
    private let configuration: SchedulerConfiguration
    private let logger: Logger

    init(orders: [StandingOrderRecord], services: Services, configuration: SchedulerConfiguration, logger: Logger) {
        configuration.validate()
        // Claiming, the database says what is due: the book starts empty.
        book = StandingOrderBook(orders: services.claims == nil ? orders : [])
        self.services = services
        self.configuration = configuration
        self.logger = logger
    }

    /// The idempotency key of payment `period` of order `order`: deterministic, and never a client's (a client
    /// key may not contain `/`).
    static func idempotencyKey(order: Int64, period: Int64) -> String { "order/\(order)/\(period)" }

    func start() {
        guard loop == nil, !stopping else { return }
        loop = Task { await self.run() }
    }

    /// Stops looking for due payments and waits (bounded) for the payments under way to be recorded, so that
    /// nothing is submitted to the writer after it closes.
    func stop() async {
        stopping = true
        loop?.cancel()
        await loop?.value
        var waited = 0
        while !book.busy.isEmpty, waited < configuration.stopWaitMillisecondsMax {
            try? await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
        if !book.busy.isEmpty {
            logger.warning("standing orders: payments still under way at shutdown", metadata: ["orders": "\(book.busy.count)"])
        }
    }

    private func run() async {
        while !stopping, !Task.isCancelled {
            await tick(now: Clock.now())
            let now = Clock.nowMilliseconds()
            var wait = Int64(configuration.orderCheckIntervalMilliseconds)
            if let due = book.nextDue { wait = min(wait, max(due.milliseconds - now, 1)) }
            try? await Task.sleep(for: .milliseconds(wait))
        }
    }

    /// Starts every payment due at `now` (at most `paymentsPerCheckMax`).
    func tick(now: Timestamp) async {
        if let claims = services.claims {
            await tickClaiming(now: now, claims)
            return
        }
        for plan in book.takeDue(now: now, limit: configuration.paymentsPerCheckMax) {
            await pay(plan)
        }
    }

    /// Claims the orders due at `now` that no other hub holds, and pays their current periods.
    private func tickClaiming(now: Timestamp, _ claims: any WorkClaims) async {
        let until = Timestamp(milliseconds: now.milliseconds + Self.claimLeaseMilliseconds)
        let limit = configuration.paymentsPerCheckMax
        let claimed: [StandingOrderRecord]
        do {
            claimed = try await services.writer.write { db in
                try claims.claimOrders(db, limit: limit, now: now, until: until)
            }
        } catch {
            logger.error("standing orders: cannot claim due orders", metadata: ["error": "\(error)"])
            return
        }
        for order in claimed {
            // Busy here: this hub cancels it right now (the cancellation keeps the claim).
            guard let plan = book.takeClaimed(order) else { continue }
            await pay(plan)
        }
    }

    // MARK: Paying a period

    private func pay(_ plan: StandingOrderBook.Plan) async {
        let order = plan.order
        let user: UserRecord
        do {
            guard let found = try await services.readers.read({ db in try UserRecords.user(db, id: order.user) }) else {
                preconditionFailure("standing order \(order.id) belongs to no user")
            }
            user = found
        } catch {
            logger.error("standing orders: cannot read the owner", metadata: ["order": "\(order.id)", "error": "\(error)"])
            release(plan.order.id)
            return
        }
        guard user.status == .active else {
            await recordFailure(plan, BankError(.accountLocked, "user \(user.username) is locked"), user: user)
            return
        }
        let request = MoneyRequest(command: .transfer(from: order.from, to: order.to, amount: order.amount),
                                   user: user.id, note: order.note,
                                   idempotencyKey: Self.idempotencyKey(order: order.id, period: plan.period))
        let extras = CommitExtras(events: { outcome in
            [Self.event(plan, WireObjects.orderPaid(StandingOrderBook.advanced(order, paid: true, at: outcome.at),
                                                    outcome, due: plan.due))]
        }, write: { [claims = services.claims] db, outcome in
            // Lost claim (this hub outlived its lease and another hub took the order): that hub pays the period
            // with the same key, replays this transfer and records the period then.
            if let claims, try !claims.releaseOrder(db, id: order.id) { return }
            try OrderRecords.recordPeriod(db, Self.payment(plan, outcome.transaction, nil, at: outcome.at),
                                          orderAfter: StandingOrderBook.advanced(order, paid: true, at: outcome.at))
        })
        await services.ledger.submit(request, extras: extras) { result in
            Task { await self.paid(plan, result, user: user) }
        }
    }

    /// The ledger's answer for a period: committed, refused (recorded as failed), or not now (left due).
    private func paid(_ plan: StandingOrderBook.Plan, _ result: Result<MoneyOutcome, BankError>, user: UserRecord) async {
        switch result {
        case .success(let outcome):
            let after = StandingOrderBook.advanced(plan.order, paid: true, at: outcome.at)
            if outcome.replayed {
                // The transfer of this period is in the ledger but the period was not recorded with it; that
                // cannot happen while both share a commit, but if it does the progress is recorded now and the
                // transfer is not made again.
                logger.warning("standing orders: period paid earlier, recording it", metadata: ["order": "\(plan.order.id)"])
                _ = try? await services.writer.write { [claims = services.claims] db in
                    try claims?.releaseOrder(db, id: plan.order.id)
                    try OrderRecords.recordPeriod(db, Self.payment(plan, outcome.transaction, nil, at: outcome.at),
                                                  orderAfter: after)
                }
            }
            finish(plan, after: after)
            services.notifier.queued()
        case .failure(let error) where [.unavailable, .internalError, .rateLimited].contains(error.code):
            logger.warning("standing orders: payment postponed", metadata: ["order": "\(plan.order.id)", "error": "\(error.message)"])
            release(plan.order.id)
        case .failure(let error):
            await recordFailure(plan, error, user: user)
        }
    }

    /// Records a refused period in one commit: its row, the order's progress, the `order` event and a message
    /// to the owner.
    private func recordFailure(_ plan: StandingOrderBook.Plan, _ error: BankError, user: UserRecord) async {
        if let claims = services.claims {
            // Renewed first, so no other hub takes the order before this commit; an event job cannot fail.
            let now = Clock.now(), until = Timestamp(milliseconds: Clock.nowMilliseconds() + Self.claimLeaseMilliseconds)
            let held = try? await services.writer.write { db in
                try claims.claimOrder(db, id: plan.order.id, now: now, until: until)
            }
            guard held == true else {
                logger.warning("standing orders: claim lost before recording a failed period", metadata: ["order": "\(plan.order.id)"])
                release(plan.order.id)
                return
            }
        }
        let now = Clock.now()
        let after = StandingOrderBook.advanced(plan.order, paid: false, at: now)
        let (subject, body) = Self.failureNotice(plan, error, after: after)
        let message = services.notifier.message(to: user, subject: subject, body: body, prefer: .email)
        let payment = Self.payment(plan, nil, error.code.rawValue, at: now)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            services.sequencer.submit([Self.event(plan, WireObjects.orderFailed(after, error, due: plan.due))], at: now,
                                      body: { [claims = services.claims] db in
                try claims?.releaseOrder(db, id: plan.order.id)
                try OrderRecords.recordPeriod(db, payment, orderAfter: after)
                try Notifier.queue(message, db, at: now)
            }, completion: { continuation.resume() })
        }
        finish(plan, after: after)
        services.notifier.queued()
    }

    private func finish(_ plan: StandingOrderBook.Plan, after: StandingOrderRecord) {
        book.finish(plan, after: after)
        if services.claims != nil { book.forget(plan.order.id) }
        wakeWaiters(of: plan.order.id)
    }

    private func release(_ id: Int64) {
        book.release(id)
        if services.claims != nil { book.forget(id) }
        wakeWaiters(of: id)
    }

    private func wakeWaiters(of id: Int64) {
        for waiter in waiting.removeValue(forKey: id) ?? [] { waiter.resume() }
    }

    static func event(_ plan: StandingOrderBook.Plan, _ data: JSONValue) -> EventDraft {
        EventDraft(stream: .user(plan.order.user), kind: "order", data: data)
    }

    static func payment(_ plan: StandingOrderBook.Plan, _ transaction: TransactionID?, _ reason: String?,
                        at: Timestamp) -> StandingOrderPayment {
        StandingOrderPayment(order: plan.order.id, period: plan.period, due: plan.due, transaction: transaction,
                             reason: reason, at: at)
    }

    static func failureNotice(_ plan: StandingOrderBook.Plan, _ error: BankError,
                              after: StandingOrderRecord) -> (String, String) {
        let order = plan.order
        let next = after.nextDue.map { "The next payment is due \($0.rfc3339)." } ?? "That was the order's last payment."
        let body = """
            A payment of your standing order \(order.id) was not made.

            Amount: \(order.amount)
            From account \(order.from) to account \(order.to)
            Due: \(plan.due.rfc3339)
            Reason: \(error.code.rawValue) (\(error.message))

            It is not retried. \(next)
            """
        return ("BankHub standing order \(order.id): payment failed", body)
    }

    // MARK: Creating and cancelling

    /// What `order_create` asks for, after its arguments were checked.
    struct Draft: Sendable {
        let user: UserID
        let from: AccountID
        let to: AccountID
        let amount: Money
        let every: Recurrence
        let start: Timestamp
        let count: Int64?
        let note: String?
    }

    /// Commits a new active order and takes it into the book; `conflict` past `ordersPerUserMax` active ones.
    /// The user's active orders are counted in the commit that inserts the new one, under the user's row lock
    /// (`OrderRecords.insert(_:_:activeMax:)`): exact on a lone hub (one writer) and across hubs on one database,
    /// where another hub may create the user's orders at the same time.
    func create(_ draft: Draft, ordersPerUserMax: Int) async throws(BankError) -> StandingOrderRecord {
        guard !stopping else { throw BankError(.unavailable, "the hub is shutting down") }
        let draftOrder = StandingOrderBook.newOrder(id: 0, user: draft.user, from: draft.from, to: draft.to,
                                                    amount: draft.amount, every: draft.every, start: draft.start,
                                                    count: draft.count, note: draft.note, at: Clock.now())
        let stored: Int64?
        do {
            // The database gives the id (hubs on one database never pick the same one).
            stored = try await services.writer.writeRetryingRaces { db in
                try OrderRecords.insert(db, draftOrder, activeMax: ordersPerUserMax)
            }
        } catch let error as BankError where error.code == .unavailable {
            throw error
        } catch {
            logger.error("standing orders: cannot store a new order", metadata: ["error": "\(error)"])
            throw BankError(.internalError, "the standing order could not be stored; it was not created")
        }
        guard let id = stored else {
            throw BankError(.conflict, "a user may have at most \(ordersPerUserMax) active standing orders; cancel one first")
        }
        let order = StandingOrderBook.newOrder(id: id, user: draft.user, from: draft.from, to: draft.to,
                                               amount: draft.amount, every: draft.every, start: draft.start,
                                               count: draft.count, note: draft.note, at: draftOrder.createdAt)
        // Due only from now on, once durable: a crash before this commit leaves no order behind. Claiming, the
        // database holds it for whichever hub claims it when due.
        if services.claims == nil { book.add(order) }
        return order
    }

    /// Cancels `id` for its owner `user`, after any payment of it under way was recorded. Someone else's order
    /// is `not_found`; one that already ended is `conflict`.
    func cancel(_ id: Int64, by user: UserID) async throws(BankError) -> StandingOrderRecord {
        while book.isBusy(id) {
            await withCheckedContinuation { waiting[id, default: []].append($0) }
        }
        if let claims = services.claims { return try await cancelClaiming(id, by: user, claims) }
        guard let order = book.order(id) else {
            let stored = try? await services.readers.read { db in try OrderRecords.order(db, id: id) }
            guard let stored, stored.user == user else { throw .notFound("no standing order \(id)") }
            throw BankError(.conflict, "standing order \(id) is \(stored.status.rawValue), not active")
        }
        guard order.user == user else { throw .notFound("no standing order \(id)") }
        let claimed = book.claim(id)
        precondition(claimed, "an order not busy can be claimed")
        let now = Clock.now()
        let stored: StandingOrderRecord?
        do {
            stored = try await services.writer.write { db -> StandingOrderRecord? in
                let cancelled = try OrderRecords.cancel(db, id: id, at: now)
                precondition(cancelled, "an order in the book is active in the database")
                return try OrderRecords.order(db, id: id)
            }
        } catch {
            release(id)
            throw BankError(.internalError, "the standing order could not be cancelled; it is still active")
        }
        book.remove(id)
        wakeWaiters(of: id)
        guard let stored else { preconditionFailure("a cancelled order is still stored") }
        return stored
    }

    /// What a cancellation found in the database (several hubs).
    private enum ClaimedCancel: Sendable {
        case cancelled(StandingOrderRecord)
        case notFound
        case ended(StandingOrderStatus)
        /// Another hub holds the order (it is paying a period): try again once that is recorded.
        case heldElsewhere
    }

    /// `cancel` with claims: in one commit the order is claimed (so no hub pays it meanwhile; waiting for the
    /// row while another hub's payment commits), cancelled if still active, and the claim given back. While
    /// another hub holds it, tried again for up to `cancelWaitMillisecondsMax`, then `unavailable`.
    private func cancelClaiming(_ id: Int64, by user: UserID, _ claims: any WorkClaims) async throws(BankError) -> StandingOrderRecord {
        // Busy here whether or not this book has it, so this hub's own look does not pay it meanwhile (the claim
        // names the hub, not the task).
        let held = book.hold(id)
        precondition(held, "cancel waited until the order was not busy")
        let started = ContinuousClock.now
        while true {
            let now = Clock.now(), until = Timestamp(milliseconds: now.milliseconds + Self.claimLeaseMilliseconds)
            let result: ClaimedCancel
            do {
                result = try await services.writer.write { db -> ClaimedCancel in
                    guard let stored = try OrderRecords.order(db, id: id), stored.user == user else { return .notFound }
                    guard stored.status == .active else { return .ended(stored.status) }
                    guard try claims.claimOrder(db, id: id, now: now, until: until) else { return .heldElsewhere }
                    // Read again under the claim's row lock: a payment that committed meanwhile may have ended it.
                    let cancelled = try OrderRecords.cancel(db, id: id, at: now)
                    try claims.releaseOrder(db, id: id)
                    guard let after = try OrderRecords.order(db, id: id) else { preconditionFailure("an order stays stored") }
                    return cancelled ? .cancelled(after) : .ended(after.status)
                }
            } catch {
                release(id)
                throw BankError(.internalError, "the standing order could not be cancelled; it is still active")
            }
            switch result {
            case .cancelled(let order):
                book.remove(id)
                wakeWaiters(of: id)
                return order
            case .notFound, .ended:
                release(id)
                if case .ended(let status) = result {
                    throw BankError(.conflict, "standing order \(id) is \(status.rawValue), not active")
                }
                throw .notFound("no standing order \(id)")
            case .heldElsewhere:
                guard ContinuousClock.now - started < .milliseconds(Self.cancelWaitMillisecondsMax) else {
                    release(id)
                    throw BankError(.unavailable, "standing order \(id) is being paid on another hub; try again")
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
