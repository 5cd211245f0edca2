import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// request_create, requests, request_cancel, request_approve, request_reject: the service-request queue.
///
/// Each new request and each resolution is one commit holding the row change, the audit entry (for staff
/// resolutions) and a `request` event on `staff:requests` and on the owner's `user:ID`.
extension Hub {
    /// The longest `note` of a request and `reason` of a rejection, in characters.
    static let requestTextLengthMax = 500
    /// The most requests `requests` answers with, newest first.
    static let requestsListMax = 200

    func createRequest(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user
        guard let kind = ServiceRequestKind(rawValue: try args.string("kind")) else {
            throw .badRequest("kind must be one of " + ServiceRequestKind.allCases.map(\.rawValue).joined(separator: ", "),
                              field: "kind")
        }
        let note = try Self.requiredText(args, "note", lengthMax: Self.requestTextLengthMax)
        var account: AccountID?
        if args.has("account") { account = try await ownedAccount(try args.account("account"), by: user.id) }
        if kind == .accountClosure, account == nil {
            throw .badRequest("account_closure needs the account to close", field: "account")
        }
        respond(responder) { [services, requestGate, account] in
            try await requestGate.filing(for: user.id) {
                try await Self.file(kind, note: note, account: account, by: user, services: services)
            }
        }
    }

    /// Checks the pending limit and commits a new request with its events. Runs after this hub's earlier
    /// filings of the user committed (see `ServiceRequestGate.filing`), so the count read here is exact on a lone
    /// hub and refuses early without reserving an id. Another hub on the same database may file for the user
    /// meanwhile, so the commit counts again, after locking the user's row, and refuses past the limit with the
    /// same error (nothing committed): the limit holds across hubs.
    private static func file(_ kind: ServiceRequestKind, note: String, account: AccountID?, by user: UserRecord,
                             services: HubServices) async throws -> JSONValue {
        let pending = try await services.readers.read { db in
            try ServiceRequestRecords.pendingCount(db, user: user.id)
        }
        guard pending < ServiceRequestGate.pendingPerUserMax else { throw pendingLimitReached }
        // The id comes from the database before the commit that names it in the events: hubs sharing the
        // database never give one id twice.
        let id = try await services.writer.write { db in try IdentifierRecords.reserve(db, .serviceRequests) }
        let now = Clock.now()
        let new = ServiceRequestRecords.NewRequest(id: id, user: user.id, kind: kind, note: note, account: account,
                                                   at: now)
        let record = ServiceRequestRecord(id: new.id, user: user.id, username: user.username, kind: kind, note: note,
                                          account: account, status: .pending, createdAt: now, resolvedAt: nil,
                                          resolvedBy: nil, reason: nil)
        try await commitRequest(record, at: now, sequencer: services.sequencer) { db in
            // Alone on a database the gate made the count above exact, so this never refuses there (see `Refusal`).
            guard try ServiceRequestRecords.insert(db, new, pendingMax: ServiceRequestGate.pendingPerUserMax) != nil
            else { throw EventSequencer.Refusal(error: pendingLimitReached) }
        }
        return ["request": WireObjects.serviceRequest(record)]
    }

    /// The refusal of a request past `ServiceRequestGate.pendingPerUserMax` (docs/protocol.md).
    private static var pendingLimitReached: BankError {
        BankError(.conflict, "at most \(ServiceRequestGate.pendingPerUserMax) requests may be pending; "
                  + "cancel one or wait for staff")
    }

    /// A customer's own requests; every request for staff. Newest first.
    func listRequests(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        var status: ServiceRequestStatus?
        if let text = try args.optionalString("status") {
            guard let parsed = ServiceRequestStatus(rawValue: text) else {
                throw .badRequest("status must be pending, approved, rejected or cancelled", field: "status")
            }
            status = parsed
        }
        let owner: UserID? = Permissions.Access.staff.allows(user.role) ? nil : user.id
        respond(responder) { [services, status] in
            let requests = try await services.readers.read { db in
                try ServiceRequestRecords.list(db, user: owner, status: status, limit: Self.requestsListMax)
            }
            return ["requests": .array(requests.map(WireObjects.serviceRequest))]
        }
    }

    func cancelRequest(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let requestID = try args.identifier("id")
        respond(responder) {
            try await self.resolve(requestID, by: user, to: .cancelled, reason: nil) { request in
                // Someone else's request is not confirmed to exist, as with accounts.
                guard request.user == user.id else { throw BankError.notFound("no request \(requestID)") }
            }
        }
    }

    func approveRequest(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let staff = try session(of: id).user
        let requestID = try args.identifier("id")
        respond(responder) {
            try await self.resolve(requestID, by: staff, to: .approved, reason: nil) { request in
                try Self.refuseOwn(request, staff)
                try await self.applyApproval(of: request)
            }
        }
    }

    func rejectRequest(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let staff = try session(of: id).user
        let requestID = try args.identifier("id")
        let reason = try Self.requiredText(args, "reason", lengthMax: Self.requestTextLengthMax)
        respond(responder) {
            try await self.resolve(requestID, by: staff, to: .rejected, reason: reason) { request in
                try Self.refuseOwn(request, staff)
            }
        }
    }

    /// Resolves pending request `requestID`: `prepare` checks it and applies any effect; then the new status,
    /// the audit entry (when staff resolve) and the events are committed together. Only one resolution of a
    /// request runs at a time on a hub; a request that is no longer pending is `conflict`, also when another
    /// hub on the same database resolved it first (the commit changes the status only from pending). With
    /// several hubs the resolution is first claimed in the database (`claimResolution`), so a hub that did not
    /// win the claim answers `conflict` before any effect of its own runs.
    private nonisolated func resolve(_ requestID: Int64, by actor: UserRecord, to status: ServiceRequestStatus,
                                     reason: String?,
                                     prepare: (ServiceRequestRecord) async throws -> Void) async throws -> JSONValue {
        guard requestGate.beginResolving(requestID) else {
            throw BankError(.conflict, "request \(requestID) is being resolved by someone else")
        }
        defer { requestGate.endResolving(requestID) }
        guard let request = try await services.readers.read({ db in try ServiceRequestRecords.get(db, id: requestID) })
        else { throw BankError.notFound("no request \(requestID)") }
        let claims = request.status == .pending ? services.claims : nil
        if let claims { try await claimResolution(requestID, claims) }
        do {
            return try await resolveClaimed(request, by: actor, to: status, reason: reason, claims: claims,
                                            prepare: prepare)
        } catch {
            // Not resolved here (refused, or the effect failed): the request may be resolved again at once.
            if let claims { _ = try? await services.writer.write { db in try claims.releaseRequest(db, id: requestID) } }
            throw error
        }
    }

    /// How long a hub's claim of a resolution holds: far longer than an effect takes, so only a hub that died
    /// mid-resolution leaves it, and the request can be resolved elsewhere once it passes.
    static let resolutionLeaseMilliseconds: Int64 = 60_000

    /// Claims the resolution of `requestID` in the database for this hub (committed, so the other hubs see it);
    /// `conflict` when another hub holds it or resolved it since it was read.
    private nonisolated func claimResolution(_ requestID: Int64, _ claims: any WorkClaims) async throws {
        let now = Clock.now(), until = Timestamp(milliseconds: now.milliseconds + Self.resolutionLeaseMilliseconds)
        guard try await services.writer.write({ db in try claims.claimRequest(db, id: requestID, now: now, until: until) })
        else { throw BankError(.conflict, "request \(requestID) is being resolved by someone else") }
    }

    /// `resolve` once this hub may resolve `request` (its gate, and its claim when `claims` is given): runs
    /// `prepare` and commits the resolution, giving the claim back in the same commit.
    private nonisolated func resolveClaimed(_ request: ServiceRequestRecord, by actor: UserRecord,
                                            to status: ServiceRequestStatus, reason: String?, claims: (any WorkClaims)?,
                                            prepare: (ServiceRequestRecord) async throws -> Void) async throws -> JSONValue {
        let requestID = request.id
        try await prepare(request)
        guard request.status == .pending else {
            throw BankError(.conflict, "request \(requestID) is already \(request.status.rawValue)")
        }
        let now = Clock.now()
        let resolved = request.resolved(status, by: actor.id, at: now, reason: reason)
        let notice = status == .approved ? try await approvalNotice(for: request) : nil
        let action = status == .cancelled ? nil : (status == .approved ? "request_approve" : "request_reject")
        let detail = "\(request.kind.rawValue) of \(request.username)" + (reason.map { ": \($0)" } ?? "")
        try await Self.commitRequest(resolved, at: now, sequencer: services.sequencer) { db in
            // The status changes only from pending, in this commit: another hub on the same database that
            // resolved the request since the read above (the gate is per hub) makes this one `conflict`, and
            // nothing of it is committed. Alone on a database the gate makes this impossible (see `Refusal`).
            // With claims this hub must still hold its claim (a lease that passed may have been taken).
            let held = try claims.map { claims in try claims.releaseRequest(db, id: requestID) } ?? true
            guard held, try ServiceRequestRecords.resolve(db, resolved) else {
                throw EventSequencer.Refusal(error: BankError(.conflict, "request \(requestID) was resolved "
                                                              + "by someone else"))
            }
            if let action {
                try AuditRecords.append(db, actor: actor.id, action: action, target: "request:\(requestID)",
                                        detail: detail, at: now)
            }
            if let notice { try Notifier.queue(notice, db, at: now) }
        }
        if notice != nil { notifier.queued() }
        return ["request": WireObjects.serviceRequest(resolved)]
    }

    /// The message that tells the owner their request was approved, written in the approval's own commit:
    /// for `kyc_update` ("your details were updated"); nil for the kinds whose effect tells them already.
    private nonisolated func approvalNotice(for request: ServiceRequestRecord) async throws -> Notifier.Message? {
        guard request.kind == .kycUpdate else { return nil }
        guard let owner = try await services.readers.read({ db in try UserRecords.user(db, id: request.user) }) else {
            return nil
        }
        return services.notifier.message(to: owner, subject: "Your BankHub details were updated", body: """
            Hello \(owner.fullName ?? owner.username),

            The bank approved your request to update your details (request \(request.id): \(request.note)).
            You can check them under your profile.
            """, prefer: .email)
    }

    /// What approving does beyond recording: closes the account (it must be empty: `conflict` otherwise, and
    /// the request stays pending) or sends the owner a password-reset code. The other kinds are recorded only.
    private nonisolated func applyApproval(of request: ServiceRequestRecord) async throws {
        guard request.status == .pending else { return }
        switch request.kind {
        case .accountClosure:
            guard let account = request.account else {
                throw BankError(.conflict, "request \(request.id) names no account to close")
            }
            try await services.ledger.setStatus(.closed, of: account)
        case .passwordReset:
            guard let owner = try await services.readers.read({ db in try UserRecords.user(db, id: request.user) }) else {
                throw BankError.notFound("the user of request \(request.id) is gone")
            }
            await issuePasswordReset(for: owner)
        case .kycUpdate, .limitIncrease:
            break
        }
    }

    /// Writes `body` and the `request` events about `record` in one commit; returns once durable and published,
    /// or throws the error of a `Refusal` from `body` (then nothing was committed).
    private static func commitRequest(_ record: ServiceRequestRecord, at now: Timestamp, sequencer: EventSequencer,
                                      body: @escaping @Sendable (any SQLDatabase) throws -> Void) async throws(BankError) {
        let data = WireObjects.serviceRequest(record)
        let drafts = [EventDraft(stream: .staffRequests, kind: "request", data: data),
                      EventDraft(stream: .user(record.user), kind: "request", data: data)]
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, BankError>, Never>) in
            sequencer.submit(drafts, at: now, refusable: body, completion: { continuation.resume(returning: $0) })
        }
        try outcome.get()
    }

    /// Staff do not resolve their own requests: another member of staff must.
    private static func refuseOwn(_ request: ServiceRequestRecord, _ staff: UserRecord) throws {
        guard request.user != staff.id else {
            throw BankError(.forbidden, "staff cannot resolve their own request; another member of staff must")
        }
    }

    /// Free text that must be present and non-empty, bounded like every note.
    static func requiredText(_ args: Arguments, _ name: String, lengthMax: Int) throws(BankError) -> String {
        guard let text = try args.optionalText(name, lengthMax: lengthMax) else {
            throw .badRequest("\(name) is required (1 to \(lengthMax) characters)", field: name)
        }
        return text
    }
}
