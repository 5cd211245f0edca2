import BankCore
import BankStorage
import WebSocketTransport

/// How a hub learns of the session revocations other hubs on its database commit (several-hub mode).
///
/// Every revocation is logged in `session_revocations` in the commit of its change (logout, password change,
/// lock, role change; see `SessionRevocationRecords`). A hub in several-hub mode reads the rows after the last
/// one it saw every `revocationPollMilliseconds` (250 ms: one indexed range read on a reader) and, for each user
/// they name, re-reads what is true now — the user (status, role) and which of its sessions are still valid —
/// and brings its own live connections in line exactly as a local revocation does. Deciding from the database
/// rather than from the row alone makes the order of rows and polls irrelevant: a session opened here after a
/// password change elsewhere stays, a token revoked there ends here, and a hub's own revocations, seen again,
/// change nothing. A revocation committed on one hub therefore ends the sessions on every other hub within
/// one poll period plus one read (under a second); a bus message can later make it sooner (a hint, the table
/// stays the truth).
enum RevocationFeed {
    /// Rows read per poll at most; more wait for the next poll (which comes at once, see `Hub.followRevocations`).
    static let rowsPerPollMax = 1_000

    /// What a poll found about one user named by new revocations.
    struct UserChange: Sendable {
        let user: UserRecord
        /// The user's sessions that are neither revoked nor expired in the database.
        let validTokens: Set<[UInt8]>
        /// The tokens revoked one by one (`logout`) among the rows read.
        let loggedOut: Set<[UInt8]>
        /// The user-wide revocations among the rows read, oldest first.
        let reasons: [SessionRevocationReason]
    }

    /// The revocations after `last` and, in the same snapshot, the state of every user they name; the new last
    /// id (unchanged when there was nothing new) and whether more rows wait.
    static func poll(after last: Int64, readers: any StorageReaders) async throws
        -> (last: Int64, changes: [UserChange], more: Bool) {
        try await readers.read { db in
            let rows = try SessionRevocationRecords.after(db, last, limit: rowsPerPollMax)
            let now = Clock.now()
            var changes: [UserChange] = []
            for userID in Set(rows.map(\.user)) {
                guard let user = try UserRecords.user(db, id: userID) else { continue }
                let mine = rows.filter { $0.user == userID }
                changes.append(UserChange(
                    user: user, validTokens: try SessionRevocationRecords.validTokenHashes(db, user: userID, now: now),
                    loggedOut: Set(mine.compactMap(\.tokenHash)),
                    reasons: mine.filter { $0.tokenHash == nil }.map(\.reason)))
            }
            return (rows.last?.id ?? last, changes, rows.count == rowsPerPollMax)
        }
    }
}

extension Hub {
    /// In several-hub mode, follows `session_revocations` until cancelled (`HubServer.run` starts it beside the
    /// deadlines). Starts after the rows committed before this hub started: it held no session then.
    func followRevocations() async {
        guard configuration.severalHubs else { return }
        let interval = configuration.revocationPollMilliseconds
        var last: Int64?
        while !Task.isCancelled {
            do {
                guard let seen = last else {
                    last = try await readers.read { db in try SessionRevocationRecords.lastID(db) }
                    continue
                }
                let poll = try await RevocationFeed.poll(after: seen, readers: readers)
                last = poll.last
                for change in poll.changes { await applyRevocations(change) }
                if poll.more { continue }
            } catch {
                logger.warning("revocation feed: read failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(interval))
        }
    }

    /// Brings this hub's connections of `change.user` in line with the database, as the local revocation would:
    /// a locked user's connections close with 1008 ("user locked"); a session whose token is no longer valid
    /// becomes anonymous (`unsubscribed` events with the reason, then the time to log in again); after a role
    /// change the sessions take the new role and lose the streams it may not follow.
    func applyRevocations(_ change: RevocationFeed.UserChange) async {
        let user = change.user
        if user.status != .active {
            disconnect(user: user.id, reason: "user locked")
            return
        }
        let now = Clock.now()
        let userWide: RevocationReason = change.reasons.contains(.passwordChanged) ? .passwordChanged : .logout
        var ended: [(ConnectionID, RevocationReason)] = []
        for (id, connection) in connections {
            guard let session = connection.session, session.user.id == user.id, now < session.expiresAt,
                  !change.validTokens.contains(session.tokenHash) else { continue }
            ended.append((id, change.loggedOut.contains(session.tokenHash) ? .logout : userWide))
        }
        for (id, reason) in ended { endSession(of: id, reason) }
        if change.reasons.contains(.roleChanged) {
            refreshSessions(of: user)
            await revokeRoleBoundSubscriptions(of: user)
        }
    }
}
