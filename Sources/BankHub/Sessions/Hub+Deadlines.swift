import BankCore
import BankStorage
import WebSocketTransport

/// Deadlines the hub enforces on its own, without waiting for a connection's next request: an anonymous
/// connection is closed with 4001 when it has not logged in (or `auth`) within `anonymousConnectionMillisecondsMax`
/// of opening or of its session ending; a session ends when it expires, and its subscriptions with it.
extension Hub {
    /// The close code for a connection that stayed anonymous too long (docs/protocol.md, close codes).
    static let signInTimeoutCloseCode: UInt16 = 4001

    /// Starts the connection's time to log in (it opened, or its session ended).
    func startSignInClock(_ id: ConnectionID) {
        let at = Clock.nowMilliseconds() + Int64(configuration.anonymousConnectionMillisecondsMax)
        connections[id]?.signInDeadline = at
        addDeadline(.init(at: at, connection: id, kind: .signIn))
    }

    /// A session was bound to the connection: its time to log in stops, its expiry is scheduled.
    func scheduleExpiry(of session: Session, on id: ConnectionID) {
        connections[id]?.signInDeadline = nil
        addDeadline(.init(at: session.expiresAt.milliseconds, connection: id,
                          kind: .sessionExpiry(tokenHash: session.tokenHash)))
    }

    /// Acts on every deadline due at `now`, each checked against the connection as it is now: it may have logged
    /// in, closed or resumed another session since the deadline was set.
    func expireDue(now: Int64) {
        for deadline in deadlines.due(now: now) {
            let id = deadline.connection
            guard let connection = connections[id] else { continue }
            switch deadline.kind {
            case .signIn:
                guard connection.session == nil, let due = connection.signInDeadline, due <= now else { continue }
                connections[id]?.signInDeadline = nil
                sink.close(id, code: Self.signInTimeoutCloseCode, reason: "authenticate first")
            case .sessionExpiry(let tokenHash):
                guard let session = connection.session, session.tokenHash == tokenHash,
                      session.expiresAt.milliseconds <= now else { continue }
                endSession(of: id, .sessionExpired)
            }
        }
    }

    /// Calls `expireDue` every `deadlineCheckMilliseconds` until the calling task is cancelled.
    func runDeadlines() async {
        let interval = configuration.deadlineCheckMilliseconds
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(interval))
            expireDue(now: Clock.nowMilliseconds())
        }
    }

    /// Adds a deadline. Once deadlines outnumber connections twice over, keeps only the current ones (a
    /// connection is subject to one at a time: its time to log in or its session's expiry), so neither closed
    /// connections nor a client that calls `auth` in a loop can grow the heap past about twice the connections.
    private func addDeadline(_ deadline: ConnectionDeadlines.Deadline) {
        deadlines.add(deadline)
        if deadlines.count > 2 * connections.count + 1_024 {
            deadlines.prune(keeping: isCurrent)
        }
    }

    /// Whether `deadline` is the one the connection is now subject to.
    private func isCurrent(_ deadline: ConnectionDeadlines.Deadline) -> Bool {
        guard let connection = connections[deadline.connection] else { return false }
        switch deadline.kind {
        case .signIn:
            return connection.session == nil && connection.signInDeadline == deadline.at
        case .sessionExpiry(let tokenHash):
            return connection.session?.tokenHash == tokenHash && connection.session?.expiresAt.milliseconds == deadline.at
        }
    }
}
