import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// subscribe, unsubscribe: live events with resume from a seq.
extension Hub {
    func subscribe(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let session = try session(of: id)
        let user = session.user
        let streamText = try args.string("stream")
        guard let stream = StreamName(streamText) else {
            throw .badRequest("stream must be account:ID, user:ID, admin:threats or staff:requests", field: "stream")
        }
        let since = try args.optionalInteger("since", in: 0...Int64.max)
        try await authorize(stream, for: user)
        // Checked again after the await: a subscription must not start under a session or role that ended
        // meanwhile (its revocation has already run).
        let current = try self.session(of: id)
        guard current.tokenHash == session.tokenHash, current.user.role == user.role else {
            throw BankError(.unauthorized, "the session changed while subscribing; subscribe again")
        }
        let name = stream.description
        let replayMax = configuration.replayEventsMax
        // Too far behind the in-memory head to replay: answered without reading the log at all.
        if let since, services.sequencer.head(of: name) - since > Int64(replayMax) {
            throw BankError(.resyncRequired, "more than \(replayMax) events were missed; re-read state and subscribe without since")
        }
        // An HTTP event stream takes the same events as server-sent-event records.
        let format: EventFormat = connections[id]?.kind == .eventStream ? .serverSent : .frame
        // Held back first, then read: whatever commits after this point is either in the read or held.
        fanout.beginCatchUp(id, stream: name, format: format)
        let fanout = self.fanout
        Task {
            do {
                let (head, missed) = try await readers.read { db in
                    (try EventRecords.head(db, stream: name),
                     try since.map { try EventRecords.events(db, stream: name, after: $0, limit: replayMax + 1) } ?? [])
                }
                if let since, since > head {
                    fanout.unsubscribe(id, stream: name)
                    responder.fail(BankError(.resyncRequired, "since \(since) is past the stream's head \(head)"))
                    return
                }
                guard missed.count <= replayMax else {
                    fanout.unsubscribe(id, stream: name)
                    responder.fail(BankError(.resyncRequired,
                                             "more than \(replayMax) events were missed; re-read state and subscribe without since"))
                    return
                }
                // The reply, the replay and the switch to live happen under the fan-out's lock, and only if the
                // subscription was not ended meanwhile (logout, expiry, a demotion): nothing read under rights that
                // are gone is sent.
                let live = fanout.finishCatchUp(id, stream: name, replay: missed, lastDelivered: since ?? head) {
                    responder.succeed(["stream": .string(name), "head": .integer(head)])
                }
                if !live {
                    responder.fail(BankError(.unauthorized, "the subscription was ended while it was being set up"))
                }
            } catch {
                fanout.unsubscribe(id, stream: name)
                responder.fail(BankError(.internalError, "could not read the event log"))
            }
        }
    }

    func unsubscribe(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        _ = try session(of: id)
        let name = try args.string("stream")
        fanout.unsubscribe(id, stream: name)
        responder.succeed(["stream": .string(name)])
    }

    /// A customer may follow their own accounts and their own user stream; an admin any account and any user
    /// stream. Employees and admins may follow `staff:requests`, admins `admin:threats`. Anything else is
    /// `not_found` (accounts, users) or `forbidden` (staff streams).
    private func authorize(_ stream: StreamName, for user: UserRecord) async throws(BankError) {
        switch stream {
        case .account(let account): _ = try await readableAccount(account, by: user)
        case .user(let other):
            guard other == user.id || user.role == .admin else { throw .notFound("no stream \(stream)") }
        case .staffRequests:
            guard Permissions.Access.staff.allows(user.role) else {
                throw BankError(.forbidden, "stream \(stream) is for employees and admins")
            }
        case .adminThreats:
            guard Permissions.Access.admin.allows(user.role) else {
                throw BankError(.forbidden, "stream \(stream) is for admins")
            }
        }
    }

    /// Ends subscriptions of connection `id` (all, unless `keep` spares a stream) and tells the client with one
    /// `unsubscribed` event per stream: `{"event":"unsubscribed","stream":S,"data":{"stream":S,"reason":R}}`. It
    /// carries no seq (it is not part of the stream); nothing of that stream follows it.
    func revokeSubscriptions(of id: ConnectionID, _ reason: RevocationReason, keeping keep: (String) -> Bool = { _ in false }) {
        for stream in fanout.revoke(id, where: { !keep($0) }) {
            sink.send(Self.unsubscribedFrame(stream, reason), to: id)
        }
    }

    static func unsubscribedFrame(_ stream: String, _ reason: RevocationReason) -> [UInt8] {
        Array(JSONWriter.string(["event": "unsubscribed", "stream": .string(stream),
                                 "data": ["stream": .string(stream), "reason": .string(reason.rawValue)]]).utf8)
    }

    /// After `user`'s role changed: on every connection of the user, the subscriptions the new role may not hold
    /// end now (`role_changed`). Staff streams and other users' streams are decided at once, before any await;
    /// other accounts' streams after one ledger hop for their owners.
    func revokeRoleBoundSubscriptions(of user: UserRecord) async {
        let ids = connections.compactMap { id, connection in connection.session?.user.id == user.id ? id : nil }
        var accounts: Set<AccountID> = []
        for id in ids {
            revokeSubscriptions(of: id, .roleChanged) { name in
                guard let stream = StreamName(name) else { return false }
                switch stream {
                case .account(let account):
                    if user.role != .admin { accounts.insert(account) }
                    return true
                case .user(let other): return other == user.id || user.role == .admin
                case .staffRequests: return Permissions.Access.staff.allows(user.role)
                case .adminThreats: return Permissions.Access.admin.allows(user.role)
                }
            }
        }
        var foreign: Set<String> = []
        // An owner that cannot be read now counts as another's: the subscription ends rather than outlive the role.
        for account in accounts where (try? await ledger.owner(of: account)) != user.id { foreign.insert("account:\(account)") }
        guard !foreign.isEmpty else { return }
        // Re-read after the await: the connections may have changed meanwhile.
        for (id, connection) in connections where connection.session?.user.id == user.id {
            revokeSubscriptions(of: id, .roleChanged) { !foreign.contains($0) }
        }
    }
}

/// Why the hub ended a subscription itself (the `reason` of an `unsubscribed` event).
enum RevocationReason: String, Sendable {
    /// `logout` on this token (from any connection).
    case logout
    /// The session's time ran out (`--session-ttl-hours`).
    case sessionExpired = "session_expired"
    /// The password was changed or reset: other sessions end.
    case passwordChanged = "password_changed"
    /// An admin or the lockout locked the user (the connection is then closed with 1008).
    case locked
    /// `set_role` changed the user's role: streams the new role may not follow end.
    case roleChanged = "role_changed"
    /// `login` or `auth` as another user on the same connection.
    case sessionReplaced = "session_replaced"
}
