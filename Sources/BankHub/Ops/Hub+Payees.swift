import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// payees, payee_add, payee_update, payee_remove: a user's saved recipients.
///
/// Each change is one commit holding the row change and a `payee` event `{action, payee}` on the user's
/// `user:ID` stream. One user's changes run one after another (`userChanges`), each checked against what a
/// reader sees after the previous one committed, so the limit and the duplicate check are exact.
extension Hub {
    enum PayeeAction: String {
        case added, updated, removed
    }

    func listPayees(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        respond(responder) { [readers] in
            let payees = try await readers.read { db in try PayeeRecords.payees(db, of: user) }
            return ["payees": .array(payees.map(WireObjects.payee))]
        }
    }

    /// `account` must be another customer's account that is not closed: the caller's own, an internal
    /// account (cash, a goal) or an unknown id is `not_found`. The same account twice, or one payee past
    /// `PayeeRules.payeesPerUserMax`, is `conflict`.
    func addPayee(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user.id
        let account = try args.account("account")
        let nickname = try Self.requiredText(args, "nickname", lengthMax: PayeeRules.nicknameLengthMax)
        guard try await ledger.isPayable(account, by: user) else { throw .notFound("no account \(account)") }
        respond(responder) { [services, userChanges, payeeIDs] in
            try await userChanges.run(user) {
                let (payees, last) = try await services.readers.read { db in
                    (try PayeeRecords.payees(db, of: user), try PayeeRecords.lastID(db))
                }
                if let existing = payees.first(where: { $0.account == account }) {
                    throw BankError(.conflict, "account \(account) is already payee \(existing.id)", field: "account")
                }
                guard payees.count < PayeeRules.payeesPerUserMax else {
                    throw BankError(.conflict, "a user may keep at most \(PayeeRules.payeesPerUserMax) payees")
                }
                let payee = PayeeRecord(id: payeeIDs.next(committedLast: last), user: user, account: account,
                                        nickname: nickname, createdAt: Clock.now())
                await Self.commitPayee(payee, .added, sequencer: services.sequencer) { db in
                    try PayeeRecords.insert(db, payee)
                }
                return ["payee": WireObjects.payee(payee)]
            }
        }
    }

    func updatePayee(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        let payeeID = try args.identifier("id")
        let nickname = try Self.requiredText(args, "nickname", lengthMax: PayeeRules.nicknameLengthMax)
        respond(responder) { [services, userChanges] in
            try await userChanges.run(user) {
                let payee = try await Self.existingPayee(payeeID, of: user, services: services).renamed(nickname)
                await Self.commitPayee(payee, .updated, sequencer: services.sequencer) { db in
                    try PayeeRecords.rename(db, payee)
                }
                return ["payee": WireObjects.payee(payee)]
            }
        }
    }

    func removePayee(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        let payeeID = try args.identifier("id")
        respond(responder) { [services, userChanges] in
            try await userChanges.run(user) {
                let payee = try await Self.existingPayee(payeeID, of: user, services: services)
                await Self.commitPayee(payee, .removed, sequencer: services.sequencer) { db in
                    try PayeeRecords.delete(db, payee)
                }
                return ["payee": WireObjects.payee(payee)]
            }
        }
    }

    /// `user`'s payee `payeeID`, or `not_found` (another user's payee too).
    private static func existingPayee(_ payeeID: Int64, of user: UserID,
                                      services: HubServices) async throws -> PayeeRecord {
        guard let payee = try await services.readers.read({ db in try PayeeRecords.payee(db, payeeID, of: user) }) else {
            throw BankError.notFound("no payee \(payeeID)")
        }
        return payee
    }

    /// Writes `body` and the `payee` event in one commit; returns once durable and published.
    private static func commitPayee(_ payee: PayeeRecord, _ action: PayeeAction, sequencer: EventSequencer,
                                    body: @escaping @Sendable (any SQLDatabase) throws -> Void) async {
        let event = EventDraft(stream: .user(payee.user), kind: "payee",
                               data: ["action": .string(action.rawValue), "payee": WireObjects.payee(payee)])
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sequencer.submit([event], at: Clock.now(), body: body, completion: { continuation.resume() })
        }
    }
}
