import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// The one-time-code step-up in front of a standing order: its payments are made later without anyone to
/// type a code, so the order itself is held when a single payment would have been (an amount at or above
/// `--otp-threshold`, or with `--otp-new-payee` a payee never paid before). `confirm_otp` then creates it.
extension Hub {
    /// Whether creating this order needs a code.
    func orderNeedsCode(_ draft: StandingOrderScheduler.Draft) async -> Bool {
        let policy = security.policy
        if draft.amount >= policy.otpThreshold { return true }
        guard policy.otpNewPayee else { return false }
        let paidBefore = try? await readers.read { db in
            try db.prepare("""
                SELECT EXISTS(SELECT 1 FROM transactions WHERE user_id = ? AND kind = 'transfer' AND credit_account = ?)
                """).queryOne(draft.user.rawValue, draft.to.rawValue) { $0.int64(0) == 1 }
        }
        return paidBefore != true
    }

    /// Holds the order behind a challenge (stored as a `transfer` challenge whose payload says
    /// `standing_order`): an `otp` event on `user:ID`, the code through the notifier, `otp_required`.
    func holdOrderForCode(_ draft: StandingOrderScheduler.Draft, session: Session,
                          _ responder: Responder) async throws(BankError) {
        let user = session.user
        let policy = security.policy
        let summary = Self.summary(of: draft)
        let issued: OneTimeCodes.Issued
        do {
            issued = try await services.codes.issue(for: user.id, purpose: .transfer,
                                                    payload: JSONWriter.string(Self.payload(of: draft)),
                                                    lifetimeSeconds: policy.otpLifetimeSeconds)
        } catch {
            throw BankError(.internalError, "could not start the code check")
        }
        threats.report(.largeTransfer, user: user.id, username: user.username, ip: nil, detail: "\(summary) held for a code")
        responder.fail(Self.promptForCode(issued, op: Op.orderCreate.rawValue, summary: summary, to: user, prefer: .sms,
                                          lifetimeSeconds: policy.otpLifetimeSeconds, services: services))
    }

    /// `confirm_otp` of a held order: the accounts are checked again now, then the order is created.
    func confirmHeldOrder(_ draft: StandingOrderScheduler.Draft, challenge record: ChallengeRecord,
                          _ responder: Responder) async throws(BankError) {
        services.sequencer.submit([EventDraft(stream: .user(draft.user), kind: "otp", data: [
            "challenge": .string(record.id), "op": "order_create", "summary": .string(Self.summary(of: draft)),
            "status": "confirmed", "expires_at": .string(record.expiresAt.rfc3339),
        ])], at: Clock.now())
        try await checkOrderAccounts(draft)
        respond(responder) { [scheduler = services.orders] in
            ["order": WireObjects.standingOrder(try await scheduler.create(draft, ordersPerUserMax: Self.ordersPerUserMax))]
        }
    }

    static func summary(of draft: StandingOrderScheduler.Draft) -> String {
        "standing order of \(draft.amount) every \(draft.every.rawValue) from \(draft.from) to \(draft.to), first \(draft.start.rfc3339)"
    }

    /// The held order, as stored with its challenge.
    static func payload(of draft: StandingOrderScheduler.Draft) -> JSONValue {
        var object: JSONObject = ["kind": "standing_order", "from": .string(draft.from.description),
                                  "to": .string(draft.to.description), "amount": .string(draft.amount.description),
                                  "every": .string(draft.every.rawValue), "start": .string(draft.start.rfc3339)]
        if let count = draft.count { object.append(key: "count", value: .integer(count)) }
        if let note = draft.note { object.append(key: "note", value: .string(note)) }
        return .object(object)
    }

    /// The order held in a challenge's payload, or nil when the payload holds something else.
    static func heldOrder(from payload: String, user: UserID) -> StandingOrderScheduler.Draft? {
        guard let value = try? JSONParser.parse(payload), value["kind"] == "standing_order",
              let from = value["from"]?.stringValue.flatMap(parseIdentifier),
              let to = value["to"]?.stringValue.flatMap(parseIdentifier),
              let amount = value["amount"]?.stringValue.flatMap({ try? Money.parseAmount($0) }),
              let every = value["every"]?.stringValue.flatMap(Recurrence.init(rawValue:)),
              let start = value["start"]?.stringValue.flatMap(Timestamp.parse(rfc3339:)) else { return nil }
        return StandingOrderScheduler.Draft(user: user, from: AccountID(from), to: AccountID(to), amount: amount,
                                            every: every, start: start, count: value["count"]?.int64Value,
                                            note: value["note"]?.stringValue)
    }
}
