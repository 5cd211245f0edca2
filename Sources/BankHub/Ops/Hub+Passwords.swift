import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// forgot_password, reset_password, change_password, totp_enroll, totp_confirm.
///
/// Every code and every password that guards a second factor is checked under the per-user limit of
/// `checkingCode`: wrong ones are counted across flows, and past the limit even a right one is refused.
extension Hub {
    /// Same answer whether or not the user exists; when it does, a reset code goes out.
    func forgotPassword(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let username = try args.string("username").lowercased()
        respond(responder) { [readers] in
            if let user = try await readers.read({ db in try UserRecords.user(db, username: username) }) {
                await self.issuePasswordReset(for: user)
            }
            return [:]
        }
    }

    /// Sends `user` a 6-digit code (15 minutes, 3 tries) for `reset_password`; the user's earlier reset codes die.
    func issuePasswordReset(for user: UserRecord) async {
        guard let issued = try? await services.codes.issue(for: user.id, purpose: .passwordReset, payload: "{}",
                                                           lifetimeSeconds: 15 * 60) else { return }
        notifier.notify(user, subject: "Reset your BankHub password",
                        body: "Your BankHub password reset code is \(issued.code). It expires in 15 minutes. "
                            + "If you did not ask for it, ignore this message.", prefer: .email)
    }

    /// Every refusal of a reset code is counted and answered alike (`otp_invalid`), also for a name no user has,
    /// so that neither the answers nor the limit tell which names exist or have a reset pending.
    func resetPassword(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let username = try args.string("username").lowercased()
        let code = try args.string("code")
        let newPassword = try args.string("new_password")
        try UserInputRules.password(newPassword, field: "new_password")
        let address = connections[id]?.info.peerAddress
        respond(responder) { [readers, services, auth] in
            let user = try await readers.read { db in try UserRecords.user(db, username: username) }
            let subject: CodeSubject = user.map { .user($0.id) } ?? .unknown(username)
            try await self.checkingCode(subject, username: username, ip: address) {
                guard let user else { throw WrongCode(BankError(.otpInvalid, "wrong or expired code", field: "code")) }
                do {
                    _ = try await services.codes.redeem(nil, user: user.id, purposes: [.passwordReset], code: code)
                } catch let error as BankError where [.otpInvalid, .otpExpired].contains(error.code) {
                    // One answer for wrong, expired, replaced and absent codes, as for a name nobody has.
                    throw WrongCode(BankError(.otpInvalid, "wrong or expired code", field: "code"))
                }
            }
            guard let user else { preconditionFailure("an unknown user's code is always refused") }
            try await auth.setPassword(newPassword, for: user.id, keeping: nil)
            await self.dropSessions(of: user.id, keeping: nil)
            return [:]
        }
    }

    /// A wrong `old` counts like a wrong code: a stolen session cannot guess the password through this op.
    func changePassword(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let session = try session(of: id)
        let old = try args.string("old")
        let new = try args.string("new")
        try UserInputRules.password(new, field: "new")
        let address = connections[id]?.info.peerAddress
        respond(responder) { [auth] in
            let user = session.user
            try await self.checkingCode(.user(user.id), username: user.username, ip: address) {
                guard case .valid = try await auth.check(username: user.username, password: old) else {
                    throw WrongCode(BankError(.forbidden, "the old password is wrong", field: "old"))
                }
            }
            try await auth.setPassword(new, for: user.id, keeping: session.tokenHash)
            await self.dropSessions(of: user.id, keeping: session.tokenHash)
            return [:]
        }
    }

    /// After a password change or reset, other connections of the user (other tokens) become anonymous at once.
    func dropSessions(of user: UserID, keeping tokenHash: [UInt8]?) {
        endSessions(.passwordChanged) { $0.user.id == user && $0.tokenHash != tokenHash }
    }

    /// A new secret, active only once `totp_confirm` accepts a code from it. While a factor is active, replacing
    /// it needs the password and a current code of that factor (a session alone is not enough), and the old
    /// factor stays active until the new one is confirmed.
    func totpEnroll(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let password = try args.optionalString("password")
        let code = try args.optionalString("code")
        let address = connections[id]?.info.peerAddress
        respond(responder) { [auth, totp] in
            if await totp.isEnabled(for: user.id) {
                guard let password, let code else {
                    throw BankError.badRequest("a second factor is active: send password and a current code to replace it",
                                               field: password == nil ? "password" : "code")
                }
                try await self.checkingCode(.user(user.id), username: user.username, ip: address) {
                    guard case .valid = try await auth.check(username: user.username, password: password) else {
                        throw WrongCode(BankError(.forbidden, "the password is wrong", field: "password"))
                    }
                    guard await totp.accepts(code, for: user.id) else {
                        throw WrongCode(BankError(.otpInvalid, "the code is wrong or was used", field: "code"))
                    }
                }
            }
            let (secret, uri) = totp.enroll(user)
            return ["secret": .string(secret), "uri": .string(uri)]
        }
    }

    func totpConfirm(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let code = try args.string("code")
        let address = connections[id]?.info.peerAddress
        respond(responder) { [totp] in
            try await self.checkingCode(.user(user.id), username: user.username, ip: address) {
                guard try await totp.confirm(code, for: user.id) else {
                    throw WrongCode(BankError(.otpInvalid, "that code does not match; check the time on your device",
                                              field: "code"))
                }
            }
            return ["enabled": true]
        }
    }
}
