import BankCore
import BankStore
import BankWire
import WebSocketTransport

/// forgot_password, reset_password, change_password, totp_enroll, totp_confirm.
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

    /// Sends `user` a 6-digit code (15 minutes, 3 tries) for `reset_password`.
    func issuePasswordReset(for user: UserRecord) async {
        guard let issued = try? await services.codes.issue(for: user.id, purpose: .passwordReset, payload: "{}",
                                                           lifetimeSeconds: 15 * 60) else { return }
        notifier.notify(user, subject: "Reset your BankHub password",
                        body: "Your BankHub password reset code is \(issued.code). It expires in 15 minutes. "
                            + "If you did not ask for it, ignore this message.", prefer: .email)
    }

    func resetPassword(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let username = try args.string("username").lowercased()
        let code = try args.string("code")
        let newPassword = try args.string("new_password")
        try UserInputRules.password(newPassword, field: "new_password")
        respond(responder) { [readers, services, auth] in
            guard let user = try await readers.read({ db in try UserRecords.user(db, username: username) }) else {
                throw BankError(.otpInvalid, "wrong or expired code", field: "code")
            }
            _ = try await services.codes.redeem(nil, user: user.id, purposes: [.passwordReset], code: code)
            try await auth.setPassword(newPassword, for: user.id, keeping: nil)
            await self.dropSessions(of: user.id, keeping: nil)
            return [:]
        }
    }

    func changePassword(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let session = try session(of: id)
        let old = try args.string("old")
        let new = try args.string("new")
        try UserInputRules.password(new, field: "new")
        respond(responder) { [auth] in
            guard case .valid = try await auth.check(username: session.user.username, password: old) else {
                throw BankError(.forbidden, "the old password is wrong", field: "old")
            }
            try await auth.setPassword(new, for: session.user.id, keeping: session.tokenHash)
            await self.dropSessions(of: session.user.id, keeping: session.tokenHash)
            return [:]
        }
    }

    /// After a password change, other connections of the user (other tokens) become anonymous at once.
    func dropSessions(of user: UserID, keeping tokenHash: [UInt8]?) {
        endSessions { $0.user.id == user && $0.tokenHash != tokenHash }
    }

    func totpEnroll(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        respond(responder) { [totp] in
            let (secret, uri) = try await totp.enroll(user)
            return ["secret": .string(secret), "uri": .string(uri)]
        }
    }

    func totpConfirm(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let code = try args.string("code")
        respond(responder) { [totp] in
            guard await totp.confirm(code, for: user.id) else {
                throw BankError(.otpInvalid, "that code does not match; check the time on your device", field: "code")
            }
            return ["enabled": true]
        }
    }
}
