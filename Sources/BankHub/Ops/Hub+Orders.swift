import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// order_create, orders, order_cancel: standing orders. The payments themselves are made by the
/// `StandingOrderScheduler` when they fall due.
extension Hub {
    /// Active standing orders one user may have; past this, `order_create` is `conflict`.
    static let ordersPerUserMax = 50
    /// The most payments one order may be given (`count`).
    static let orderPaymentsMax: Int64 = 10_000
    /// How far in the past `start` may lie (the request's own travel time): such an order is due at once.
    static let orderStartSlackSeconds: Int64 = 60
    /// How far ahead `start` may lie, in days (about five years).
    static let orderStartAheadDaysMax: Int64 = 1_830
    /// The most orders `orders` answers with, newest first.
    static let ordersListMax = 200

    func createOrder(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let session = try session(of: id)
        let draft = try Self.orderDraft(args, user: session.user.id, now: Clock.now())
        try await checkOrderAccounts(draft)
        if await orderNeedsCode(draft) {
            try await holdOrderForCode(draft, session: session, responder)
            return
        }
        respond(responder) { [scheduler = services.orders] in
            ["order": WireObjects.standingOrder(try await scheduler.create(draft, ordersPerUserMax: Self.ordersPerUserMax))]
        }
    }

    /// The checks a transfer of the order's amount meets now (the accounts: owned, open, not locked), except
    /// the balance, which is checked when each payment falls due.
    func checkOrderAccounts(_ draft: StandingOrderScheduler.Draft) async throws(BankError) {
        let probe = MoneyRequest(command: .transfer(from: draft.from, to: draft.to, amount: draft.amount),
                                 user: draft.user, note: draft.note, idempotencyKey: nil)
        do {
            _ = try await ledger.check(probe)
        } catch where error.code == .insufficientFunds {
            // Fine: the account may be funded before the first payment.
        }
    }

    func listOrders(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        var status: StandingOrderStatus?
        if let text = try args.optionalString("status") {
            guard let parsed = StandingOrderStatus(rawValue: text) else {
                throw .badRequest("status must be active, cancelled or completed", field: "status")
            }
            status = parsed
        }
        respond(responder) { [readers, status] in
            let orders = try await readers.read { db in
                try OrderRecords.list(db, user: user.id, status: status, limit: Self.ordersListMax)
            }
            return ["orders": .array(orders.map(WireObjects.standingOrder))]
        }
    }

    func cancelOrder(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let orderID = try args.identifier("id")
        respond(responder) { [scheduler = services.orders] in
            ["order": WireObjects.standingOrder(try await scheduler.cancel(orderID, by: user.id))]
        }
    }

    /// Parses and checks `order_create`'s arguments (not yet the accounts, which the ledger checks).
    static func orderDraft(_ args: Arguments, user: UserID, now: Timestamp) throws(BankError) -> StandingOrderScheduler.Draft {
        let from = try args.account("from")
        let to = try args.account("to")
        let amount = try args.amount()
        guard amount <= Money.amountMax else {
            throw BankError(.invalidAmount, "amount must be between 0.01 and \(Money.amountMax)", field: "amount")
        }
        if from == to { throw BankError(.sameAccount, "a standing order cannot pay its own account", field: "to") }
        let everyText = try args.string("every")
        guard let every = Recurrence(rawValue: everyText) else {
            throw .badRequest("every must be day, week or month", field: "every")
        }
        let start = try args.timestamp("start")
        guard start.milliseconds >= now.milliseconds - orderStartSlackSeconds * 1_000 else {
            throw .badRequest("start must not be in the past", field: "start")
        }
        guard start.milliseconds <= now.milliseconds + orderStartAheadDaysMax * 86_400_000 else {
            throw .badRequest("start must be within \(orderStartAheadDaysMax) days", field: "start")
        }
        let count = try args.optionalInteger("count", in: 1...orderPaymentsMax)
        let note = try args.optionalText("note", lengthMax: UserInputRules.noteLengthMax)
        return StandingOrderScheduler.Draft(user: user, from: from, to: to, amount: amount, every: every, start: start,
                                            count: count, note: note)
    }
}
