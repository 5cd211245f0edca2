import BankCore
import BankStore
import BankWire
import WebSocketTransport

/// subscribe, unsubscribe: live events with resume from a seq.
extension Hub {
    func subscribe(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user
        let streamText = try args.string("stream")
        guard let stream = StreamName(streamText) else {
            throw .badRequest("stream must be account:ID, user:ID, admin:threats or staff:requests", field: "stream")
        }
        let since = try args.optionalInteger("since", in: 0...Int64.max)
        try await authorize(stream, for: user)
        let name = stream.description
        let replayMax = configuration.replayEventsMax
        // Too far behind the in-memory head to replay: answered without reading the log at all.
        if let since, services.sequencer.head(of: name) - since > Int64(replayMax) {
            throw BankError(.resyncRequired, "more than \(replayMax) events were missed; re-read state and subscribe without since")
        }
        // Held back first, then read: whatever commits after this point is either in the read or held.
        fanout.beginCatchUp(id, stream: name)
        let fanout = self.fanout
        let sink = self.sink
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
                responder.succeed(["stream": .string(name), "head": .integer(head)])
                for event in missed { sink.send(EventFrame.encode(event), to: id) }
                fanout.finishCatchUp(id, stream: name, lastDelivered: missed.last?.seq ?? since ?? head)
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
}
