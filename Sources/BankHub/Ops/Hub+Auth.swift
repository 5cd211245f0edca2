import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// signup, login, auth, logout.
extension Hub {
    func signUp(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let username = try UserInputRules.username(try args.string("username"))
        let password = try args.string("password")
        try UserInputRules.password(password)
        let email = try args.optionalString("email").flatMap { $0.isEmpty ? nil : $0 }
        if let email { try UserInputRules.email(email) }
        let phone = try args.optionalString("phone").flatMap { $0.isEmpty ? nil : $0 }
        if let phone { try UserInputRules.phone(phone) }
        let fullName = try args.optionalText("full_name", lengthMax: UserInputRules.fullNameLengthMax)
        let request = AuthService.SignUp(username: username, password: password, email: email, phone: phone,
                                         fullName: fullName)
        respond(responder) { [auth, ledger] in
            // The first account ("Checking") is stored in the same commit as the user.
            let (user, account) = try await ledger.signUp(await auth.newUser(request), accountName: Self.firstAccountName)
            return ["user": WireObjects.user(user), "account": WireObjects.account(account)]
        }
    }

    /// The name of the account every sign-up opens.
    static let firstAccountName = "Checking"

    /// Checks the credentials (and TOTP when enrolled), counts failures toward the lockout, records the attempt
    /// in the login history, and on success binds a new session to this connection.
    func logIn(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let username = try UserInputRules.loginUsername(try args.string("username"))
        let password = try args.string("password")
        let totpCode = try args.optionalString("totp")
        guard let info = connections[id]?.info else { return }
        if security.isAddressBlocked(info.peerAddress, now: Clock.nowMilliseconds()) {
            Task { await recordAttempt(nil, username, info, "rate_limited") }
            throw BankError(.rateLimited, "too many failed logins from this address; try later",
                            retryAfterSeconds: security.policy.failureWindowMinutes * 60)
        }
        respond(responder) { [auth, totp] in
            switch try await auth.check(username: username, password: password) {
            case .unknownUser:
                await self.loginFailed(nil, username, info, outcome: "unknown_user")
                throw BankError(.unauthorized, "wrong username or password")
            case .wrongPassword(let user):
                await self.loginFailed(user, username, info, outcome: "bad_password")
                throw BankError(.unauthorized, "wrong username or password")
            case .locked(let user, let passwordMatches):
                // The same answer whatever the password, or guessing would go on through the lock; a wrong
                // password still counts toward the next lock.
                if passwordMatches {
                    await self.recordAttempt(user.id, username, info, "locked")
                } else {
                    await self.loginFailed(user, username, info, outcome: "bad_password")
                }
                self.threats.report(.lockedAction, user: user.id, username: username, ip: info.peerAddress,
                                    detail: "login attempt on a locked user")
                throw BankError(.accountLocked, "user \(username) is locked; an admin can unlock it, or wait")
            case .valid(let user):
                if await totp.isEnabled(for: user.id) { try await self.checkLoginCode(totpCode, user, info) }
                return try await self.loggedIn(user, info, connection: id)
            }
        }
    }

    /// TOTP at login, after a right password: without `totp`, `otp_required`; a wrong one is counted toward the
    /// user's `too_many_attempts` limit (and answered `otp_required` too); past the limit every code is refused.
    private nonisolated func checkLoginCode(_ code: String?, _ user: UserRecord, _ info: ConnectionInfo) async throws {
        do {
            try await checkingCode(.user(user.id), username: user.username, ip: info.peerAddress) { [totp] in
                guard let code else {
                    await self.recordAttempt(user.id, user.username, info, "totp_required")
                    throw BankError(.otpRequired, "this user has a second factor: send a current totp code", field: "totp")
                }
                guard await totp.accepts(code, for: user.id) else {
                    await self.recordAttempt(user.id, user.username, info, "totp_invalid")
                    throw WrongCode(BankError(.otpRequired, "the totp code is wrong or was used; send a current one",
                                              field: "totp"))
                }
            }
        } catch let error as BankError where error.code == .tooManyAttempts {
            await recordAttempt(user.id, user.username, info, "too_many_attempts")
            throw error
        }
    }

    private func loggedIn(_ user: UserRecord, _ info: ConnectionInfo, connection id: ConnectionID) async throws -> JSONValue {
        let address = info.peerAddress
        let prior = try await readers.read { db in try SecurityRecords.priorLogins(db, user: user.id, ip: address) }
        let (token, session) = try await auth.openSession(for: user)
        await recordAttempt(user.id, user.username, info, "success")
        security.clearFailures(username: user.username)
        if prior.any, !prior.fromIP {
            threats.report(.newIP, user: user.id, username: user.username, ip: address,
                           detail: "first login from \(address)")
        }
        try attach(session, to: id)
        notifyLogin(user, info)
        return ["token": .string(token), "user": WireObjects.user(session.user),
                "expires_at": .string(session.expiresAt.rfc3339)]
    }

    /// Counts a failure: raises `brute_force` from the 3rd failure of a user (10th of an address) and locks the
    /// user at the 5th, closing its connections.
    private func loginFailed(_ user: UserRecord?, _ username: String, _ info: ConnectionInfo, outcome: String) async {
        await recordAttempt(user?.id, username, info, outcome)
        let policy = security.policy
        let now = Clock.nowMilliseconds()
        var failures = security.recordLoginFailure(username: username, address: info.peerAddress, now: now)
        if configuration.severalHubs {
            // The attempt is committed (above): the database's counts hold the failures on every hub. One read
            // per failed login, none on other requests; a hub learns of the others' failures of an address at
            // its own next one, so an address gets at most `addressFailuresMax` + hubs − 1 in a window.
            let since = Timestamp(milliseconds: now - policy.failureWindowMilliseconds)
            let address = info.peerAddress, limit = policy.addressFailuresMax
            let stored = try? await readers.read { db in
                (try user.map { try SecurityRecords.loginFailures(db, user: $0.id, since: since) },
                 try SecurityRecords.addressFailures(db, ip: address, since: since, limit: limit))
            }
            if let stored {
                if let count = stored.0 { failures.user = count }
                failures.address = security.adoptAddressFailures(address, stored: stored.1.map(\.milliseconds), now: now)
            }
        }
        if failures.user >= 3, security.mayRaise("brute:user:\(username):\(failures.user)", now: now) {
            threats.report(.bruteForce, user: user?.id, username: username, ip: info.peerAddress,
                           detail: "\(failures.user) failed logins for \(username) in \(policy.failureWindowMinutes) minutes")
        }
        if failures.address >= 10, security.mayRaise("brute:ip:\(info.peerAddress)", now: now) {
            threats.report(.bruteForce, user: nil, username: nil, ip: info.peerAddress,
                           detail: "\(failures.address) failed logins from \(info.peerAddress) in \(policy.failureWindowMinutes) minutes")
        }
        guard let user, failures.user >= policy.lockoutFailures, user.status == .active else { return }
        let until = policy.lockoutEnd(now: now)
        try? await services.writer.write { db in
            try SecurityRecords.lock(db, user: user.id, until: until, reason: "too many failed logins")
            try SessionRevocationRecords.append(db, user: user.id, tokenHash: nil, reason: .locked, at: Clock.now())
        }
        threats.report(.accountLocked, user: user.id, username: username, ip: info.peerAddress,
                       detail: "locked \(until == nil ? "until an admin unlocks it" : "for \(policy.lockoutMinutes) minutes") after \(failures.user) failed logins")
        disconnect(user: user.id, reason: "user locked")
    }

    func authenticate(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let token = try args.string("token")
        respond(responder) { [auth] in
            let session = try await auth.authenticate(token: token)
            try await self.attach(session, to: id)
            return ["user": WireObjects.user(session.user), "expires_at": .string(session.expiresAt.rfc3339)]
        }
    }

    func logOut(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let session = try session(of: id)
        // Every connection on this token drops back to anonymous now, before the revocation commits, so no
        // request can use it in between.
        endSessions(.logout) { $0.tokenHash == session.tokenHash }
        respond(responder) { [auth] in
            try await auth.revoke(tokenHash: session.tokenHash, of: session.user.id)
            return [:]
        }
    }

    /// Closes every connection of `user` with 1008 (policy): used when the user is locked.
    func disconnect(user: UserID, reason: String) {
        for id in endSessions(.locked, where: { $0.user.id == user }) { sink.close(id, code: 1008, reason: reason) }
    }

    /// Every connection whose session matches becomes anonymous and loses its subscriptions; returns them.
    @discardableResult
    func endSessions(_ reason: RevocationReason, where matches: (Session) -> Bool) -> [ConnectionID] {
        let ended = connections.compactMap { id, connection in connection.session.map(matches) == true ? id : nil }
        for id in ended { endSession(of: id, reason) }
        return ended
    }

    /// The connection becomes anonymous at once: every subscription ends (the client gets an `unsubscribed`
    /// event for each) and its time to log in again starts.
    func endSession(of id: ConnectionID, _ reason: RevocationReason) {
        guard let connection = connections[id], connection.session != nil else { return }
        connections[id]?.session = nil
        if connection.kind == .eventStream {
            // An event stream is nothing but its subscription: it ends with its session.
            fanout.drop(id)
            sink.close(id, code: 1008, reason: "session ended")
            return
        }
        revokeSubscriptions(of: id, reason)
        if connection.kind == .webSocket { startSignInClock(id) }
    }

    /// Appends to the login history (time, address, user agent, outcome); returns once committed, so the
    /// answer to a login comes after its line in the history.
    nonisolated func recordAttempt(_ user: UserID?, _ username: String, _ info: ConnectionInfo, _ outcome: String) async {
        let attempt = LoginAttempt(user: user, username: username, ip: info.peerAddress, userAgent: info.userAgent,
                                   outcome: outcome, at: Clock.now())
        try? await services.writer.write { db in try SecurityRecords.insertAttempt(db, attempt) }
    }

    /// Binds a session to a connection that may have closed while the password was being checked.
    func attach(_ session: Session, to id: ConnectionID) throws(BankError) {
        // Re-checked after the await in the caller: the actor may have run other work meanwhile.
        guard connections[id] != nil else { throw BankError(.unavailable, "the connection closed") }
        if let previous = connections[id]?.session, previous.user.id != session.user.id {
            revokeSubscriptions(of: id, .sessionReplaced)
        }
        connections[id]?.session = session
        scheduleExpiry(of: session, on: id)
    }
}
