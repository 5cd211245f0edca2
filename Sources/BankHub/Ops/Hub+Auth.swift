import BankCore
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
        respond(responder) { [auth] in
            ["user": WireObjects.user(try await auth.signUp(request))]
        }
    }

    func logIn(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let username = try args.string("username").lowercased()
        let password = try args.string("password")
        respond(responder) { [auth] in
            let (token, session) = try await auth.logIn(username: username, password: password)
            try await self.attach(session, to: id)
            return ["token": .string(token), "user": WireObjects.user(session.user),
                    "expires_at": .string(session.expiresAt.rfc3339)]
        }
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
        for (other, connection) in connections where connection.session?.tokenHash == session.tokenHash {
            connections[other]?.session = nil
            for stream in fanout.streams(of: other) { fanout.unsubscribe(other, stream: stream) }
        }
        respond(responder) { [auth] in
            try await auth.revoke(tokenHash: session.tokenHash)
            return [:]
        }
    }

    /// Binds a session to a connection that may have closed while the password was being checked.
    private func attach(_ session: Session, to id: ConnectionID) throws(BankError) {
        // Re-checked after the await in the caller: the actor may have run other work meanwhile.
        guard connections[id] != nil else { throw BankError(.unavailable, "the connection closed") }
        if let previous = connections[id]?.session, previous.user.id != session.user.id {
            for stream in fanout.streams(of: id) { fanout.unsubscribe(id, stream: stream) }
        }
        connections[id]?.session = session
    }
}
