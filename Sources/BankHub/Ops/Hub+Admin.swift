import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// Admin changes (roles, locks), the threat feed, and login history and statistics.
extension Hub {
    func setRole(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let admin = try session(of: id).user
        let target = UserID(try args.identifier("user"))
        guard let role = Role(rawValue: try args.string("role")) else {
            throw .badRequest("role must be customer, employee or admin", field: "role")
        }
        guard target != admin.id else { throw BankError(.conflict, "an admin cannot change their own role") }
        respond(responder) {
            let user = try await self.changeUser(target) { db in
                try SecurityRecords.setRole(db, user: target, role: role)
                try SessionRevocationRecords.append(db, user: target, tokenHash: nil, reason: .roleChanged, at: Clock.now())
            }
            // Right after the commit, before anything else: the user's connections act with the new role, and the
            // streams it may not follow (a demotion) end.
            await self.refreshSessions(of: user)
            await self.revokeRoleBoundSubscriptions(of: user)
            try await self.audit(admin, "set_role", target: "user:\(target)", detail: role.rawValue)
            return ["user": WireObjects.user(user)]
        }
    }

    func lockUser(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let admin = try session(of: id).user
        let target = UserID(try args.identifier("user"))
        let reason = try args.optionalText("reason", lengthMax: 200) ?? "locked by an admin"
        guard target != admin.id else { throw BankError(.conflict, "an admin cannot lock themselves") }
        respond(responder) { [threats] in
            let user = try await self.changeUser(target) { db in
                try SecurityRecords.lock(db, user: target, until: nil, reason: reason)
                try SessionRevocationRecords.append(db, user: target, tokenHash: nil, reason: .locked, at: Clock.now())
            }
            // Right after the commit: the user's sessions and subscriptions end before anything else happens.
            await self.disconnect(user: target, reason: "user locked")
            try await self.audit(admin, "lock_user", target: "user:\(target)", detail: reason)
            threats.report(.accountLocked, user: target, username: user.username, ip: nil,
                           detail: "locked by \(admin.username): \(reason)")
            return ["user": WireObjects.user(user)]
        }
    }

    func unlockUser(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let admin = try session(of: id).user
        let target = UserID(try args.identifier("user"))
        respond(responder) { [security] in
            let user = try await self.changeUser(target) { db in
                try SecurityRecords.unlock(db, user: target, at: Clock.now())
            }
            security.clearFailures(username: user.username)
            security.clearCodeFailures(.user(user.id))
            try await self.audit(admin, "unlock_user", target: "user:\(target)")
            return ["user": WireObjects.user(user)]
        }
    }

    func setAccountLock(_ locked: Bool, _ args: Arguments, from id: ConnectionID,
                        _ responder: Responder) throws(BankError) {
        let admin = try session(of: id).user
        let account = try args.account("account")
        respond(responder) { [ledger, readers] in
            try await ledger.setStatus(locked ? .locked : .open, of: account)
            try await self.audit(admin, locked ? "lock_account" : "unlock_account", target: "account:\(account)")
            guard let record = try await readers.read({ db in try LedgerRecords.account(db, account) }) else {
                throw BankError.notFound("no account \(account)")
            }
            return ["account": WireObjects.account(record)]
        }
    }

    func listThreats(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let since = try args.optionalInteger("since", in: 0...Int64.max)
        let before = try args.optionalInteger("before", in: 1...Int64.max)
        let limit = Int(try args.optionalInteger("limit", in: 1...500) ?? 100)
        respond(responder) { [readers] in
            let threats = try await readers.read { db in try SecurityRecords.threats(db, before: before, limit: limit) }
            let newer = threats.filter { $0.id > (since ?? 0) }
            return ["threats": .array(newer.map { ThreatReporter.wire($0, username: nil) })]
        }
    }

    func ackThreat(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let admin = try session(of: id).user
        let threat = try args.identifier("id")
        respond(responder) { [services] in
            let now = Clock.now()
            let acked = try await services.writer.write { db in
                try SecurityRecords.ackThreat(db, id: threat, by: admin.id, at: now)
            }
            guard let acked else { throw BankError.notFound("no threat \(threat)") }
            try await self.audit(admin, "ack_threat", target: "threat:\(threat)")
            return ["threat": ThreatReporter.wire(acked, username: nil)]
        }
    }

    func loginHistory(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let me = try session(of: id).user
        let target = try args.has("user") ? UserID(args.identifier("user")) : me.id
        guard target == me.id || me.role == .admin else {
            throw BankError(.forbidden, "only admins can read another user's login history")
        }
        let limit = Int(try args.optionalInteger("limit", in: 1...200) ?? 50)
        respond(responder) { [readers] in
            let attempts = try await readers.read { db in try SecurityRecords.attempts(db, user: target, limit: limit) }
            return ["attempts": .array(attempts.map { attempt in
                ["at": .string(attempt.at.rfc3339), "ip": .string(attempt.ip),
                 "user_agent": attempt.userAgent.map(JSONValue.string) ?? .null, "outcome": .string(attempt.outcome)]
            })]
        }
    }

    func loginStats(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let months = try args.optionalInteger("months", in: 1...24) ?? 6
        let since = Timestamp(milliseconds: Clock.nowMilliseconds() - months * 31 * 86_400_000)
        respond(responder) { [readers] in
            let rows = try await readers.read { db in try SecurityRecords.monthlyLogins(db, since: since) }
            return ["months": .array(rows.map { row in
                ["month": .string(row.month), "user": .string(row.user.description), "username": .string(row.username),
                 "logins": .integer(row.logins)]
            })]
        }
    }

    /// Applies `change` to a user and returns the user as it now is; `not_found` when there is no such user.
    private func changeUser(_ target: UserID,
                            _ change: @escaping @Sendable (any SQLDatabase) throws -> Void) async throws -> UserRecord {
        let user = try await services.writer.write { db -> UserRecord? in
            guard try UserRecords.user(db, id: target) != nil else { return nil }
            try change(db)
            return try UserRecords.user(db, id: target)
        }
        guard let user else { throw BankError.notFound("no user \(target)") }
        return user
    }

    /// Connected sessions of `user` see a change of role (or profile) at once.
    func refreshSessions(of user: UserRecord) {
        for (id, connection) in connections where connection.session?.user.id == user.id {
            guard let session = connection.session else { continue }
            connections[id]?.session = Session(user: user, tokenHash: session.tokenHash, expiresAt: session.expiresAt)
        }
    }
}
