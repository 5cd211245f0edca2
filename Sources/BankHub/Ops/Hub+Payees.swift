import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// payees, payee_add, payee_update, payee_remove: a user's saved recipients.
///
/// Each change is one commit holding the row change and a `payee` event `{action, payee}` on the user's
/// `user:ID` stream. One user's changes run one after another on a hub (`userChanges`), each checked against
/// what a reader sees after the previous one committed, so the limit and the duplicate check are exact on a lone
/// hub. Another hub on the same database may change the user's payees meanwhile, so each commit checks again
/// (`PayeeRecords.insert(_:_:payeesMax:)` under the user's row lock; a rename or removal of a payee that is
/// gone) and refuses with the same error as the read's check, committing nothing.
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
        respond(responder) { [services, userChanges] in
            try await userChanges.run(user) {
                let payees = try await services.readers.read { db in try PayeeRecords.payees(db, of: user) }
                if let existing = payees.first(where: { $0.account == account }) {
                    throw Self.duplicatePayee(account, existing.id)
                }
                guard payees.count < PayeeRules.payeesPerUserMax else { throw Self.payeeLimitReached }
                // Reserved in the database before the commit whose event names it (hubs sharing it never clash).
                let id = try await services.writer.write { db in try IdentifierRecords.reserve(db, .payees) }
                let payee = PayeeRecord(id: id, user: user, account: account, nickname: nickname, createdAt: Clock.now())
                try await Self.commitPayee(payee, .added, sequencer: services.sequencer) { db in
                    switch try PayeeRecords.insert(db, payee, payeesMax: PayeeRules.payeesPerUserMax) {
                    case nil: break
                    case .duplicate(let existing): throw EventSequencer.Refusal(error: Self.duplicatePayee(account, existing))
                    case .full: throw EventSequencer.Refusal(error: Self.payeeLimitReached)
                    }
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
                try await Self.commitPayee(payee, .updated, sequencer: services.sequencer) { db in
                    guard try PayeeRecords.rename(db, payee) else { throw Self.payeeGone(payeeID) }
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
                try await Self.commitPayee(payee, .removed, sequencer: services.sequencer) { db in
                    guard try PayeeRecords.delete(db, payee) else { throw Self.payeeGone(payeeID) }
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

    /// Writes `body` and the `payee` event in one commit; returns once durable and published, or throws the
    /// error of a `Refusal` from `body` (then nothing was committed). Alone on a database `userChanges` makes
    /// the checks before the commit exact, so `body` never refuses there (see `EventSequencer.Refusal`).
    private static func commitPayee(_ payee: PayeeRecord, _ action: PayeeAction, sequencer: EventSequencer,
                                    body: @escaping @Sendable (any SQLDatabase) throws -> Void) async throws(BankError) {
        let event = EventDraft(stream: .user(payee.user), kind: "payee",
                               data: ["action": .string(action.rawValue), "payee": WireObjects.payee(payee)])
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, BankError>, Never>) in
            sequencer.submit([event], at: Clock.now(), refusable: body, completion: { continuation.resume(returning: $0) })
        }
        try outcome.get()
    }

    /// `payee_add` of an account the user already has as payee `existing`.
    private static func duplicatePayee(_ account: AccountID, _ existing: Int64) -> BankError {
        BankError(.conflict, "account \(account) is already payee \(existing)", field: "account")
    }

    /// `payee_add` past `PayeeRules.payeesPerUserMax` (docs/protocol.md).
    private static var payeeLimitReached: BankError {
        BankError(.conflict, "a user may keep at most \(PayeeRules.payeesPerUserMax) payees")
    }

    /// A rename or removal of a payee that another hub removed after this one read it: as for any unknown payee.
    private static func payeeGone(_ payeeID: Int64) -> EventSequencer.Refusal {
        EventSequencer.Refusal(error: BankError.notFound("no payee \(payeeID)"))
    }
}
