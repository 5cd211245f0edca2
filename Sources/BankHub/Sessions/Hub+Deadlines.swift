import BankCore
import BankStore
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

    /// Adds a deadline; drops those of closed connections once they outnumber the open ones twice over, so the
    /// heap stays bounded by the connections (each has at most a few live deadlines).
    private func addDeadline(_ deadline: ConnectionDeadlines.Deadline) {
        deadlines.add(deadline)
        if deadlines.count > 2 * connections.count + 1_024 {
            deadlines.prune { connections[$0.connection] != nil }
        }
    }
}
