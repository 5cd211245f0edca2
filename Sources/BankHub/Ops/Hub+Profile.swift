import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// profile, update_profile: the caller's own name and contacts.
///
/// A change of e-mail or phone is held behind a one-time code sent to the contact already on file (as a large
/// transfer is: `otp_required`, then `confirm_otp`), so that someone holding a session cannot quietly point
/// the account's codes and notices at themselves. A user with no contact on file has nothing to confirm with,
/// and their change applies at once. Each applied change commits with a `user` event on `user:ID`.
extension Hub {
    func showProfile(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        respond(responder) { [services] in
            let (current, totpEnabled) = try await Self.currentProfile(of: user, services: services)
            return ["user": WireObjects.profile(current, totpEnabled: totpEnabled)]
        }
    }

    /// `update_profile {full_name?, email?, phone?}`: a field left out stays; `""` clears it; anything else
    /// must pass the sign-up rules. Answers `{user}`, or `otp_required` when a contact changes.
    func updateProfile(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        let change = try Self.profileChange(args)
        let lifetimeSeconds = security.policy.otpLifetimeSeconds
        respond(responder) { [services, userChanges] in
            try await userChanges.run(user) {
                let (current, totpEnabled) = try await Self.currentProfile(of: user, services: services)
                if change.changesContact(of: current), current.email != nil || current.phone != nil {
                    throw await Self.holdProfileChange(change, of: current, lifetimeSeconds: lifetimeSeconds,
                                                       services: services)
                }
                return try await self.applyProfileChange(change, to: current, totpEnabled: totpEnabled)
            }
        }
    }

    /// `confirm_otp` of a held profile change: applies it to the profile as it is now.
    func confirmProfileChange(_ record: ChallengeRecord, user: UserID, _ responder: Responder) throws(BankError) {
        guard let change = ProfileChangeCoding.decode(record.payload) else {
            throw BankError(.internalError, "the held profile change could not be read back")
        }
        respond(responder) { [services, userChanges] in
            try await userChanges.run(user) {
                let (current, totpEnabled) = try await Self.currentProfile(of: user, services: services)
                return try await self.applyProfileChange(change, to: current, totpEnabled: totpEnabled)
            }
        }
    }

    /// Commits `change` with its `user` event; connected sessions of the user see the new profile at once
    /// (so receipts and codes go to the new contacts).
    private nonisolated func applyProfileChange(_ change: ProfileChange, to current: UserRecord,
                                                totpEnabled: Bool) async throws -> JSONValue {
        let updated = change.applied(to: current)
        let profile = WireObjects.profile(updated, totpEnabled: totpEnabled)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            services.sequencer.submit([EventDraft(stream: .user(current.id), kind: "user", data: profile)],
                                      at: Clock.now(), body: { db in
                try ProfileRecords.update(db, user: current.id, change)
            }, completion: { continuation.resume() })
        }
        await refreshSessions(of: updated)
        return ["user": profile]
    }

    /// Issues a code for `change` to the contact `current` has on file (the e-mail for an e-mail change when
    /// there is one, else the phone; the phone for a phone change when there is one, else the e-mail), pushes
    /// the `otp` prompt, and returns the `otp_required` answer.
    private static func holdProfileChange(_ change: ProfileChange, of current: UserRecord, lifetimeSeconds: Int,
                                          services: HubServices) async -> BankError {
        let summary = ProfileChangeCoding.summary(change)
        let issued: OneTimeCodes.Issued
        do {
            issued = try await services.codes.issue(for: current.id, purpose: .profile,
                                                    payload: ProfileChangeCoding.encode(change),
                                                    lifetimeSeconds: lifetimeSeconds)
        } catch {
            return BankError(.internalError, "could not start the code check")
        }
        let prefer: Notifier.Channel = change.email != .keep ? .email : .sms
        return promptForCode(issued, op: OneTimeCodes.Purpose.profile.rawValue, summary: summary, to: current,
                             prefer: prefer, lifetimeSeconds: lifetimeSeconds, services: services,
                             advice: " If you did not ask for this, change your password now.",
                             sentTo: " to your current contact")
    }

    /// The user as stored now (the session's copy may be older) and whether their second factor is on.
    private static func currentProfile(of user: UserID, services: HubServices) async throws -> (UserRecord, Bool) {
        guard let current = try await services.readers.read({ db in try UserRecords.user(db, id: user) }) else {
            throw BankError.notFound("no user \(user)")
        }
        return (current, await services.totp.isEnabled(for: user))
    }

    /// The change `update_profile` asks for, checked by the sign-up rules; at least one field.
    static func profileChange(_ args: Arguments) throws(BankError) -> ProfileChange {
        var change = ProfileChange()
        if args.has("full_name") {
            change.fullName = .set(try args.optionalText("full_name", lengthMax: UserInputRules.fullNameLengthMax))
        }
        if let email = try args.optionalString("email") {
            if !email.isEmpty { try UserInputRules.email(email) }
            change.email = .set(email.isEmpty ? nil : email)
        }
        if let phone = try args.optionalString("phone") {
            if !phone.isEmpty { try UserInputRules.phone(phone) }
            change.phone = .set(phone.isEmpty ? nil : phone)
        }
        guard change != ProfileChange() else {
            throw .badRequest("give full_name, email or phone to change")
        }
        return change
    }
}

/// A held profile change as stored with its challenge (`payload`), and in words for the code's message.
enum ProfileChangeCoding {
    private static var fields: [(key: String, path: WritableKeyPath<ProfileChange, ProfileChange.Field>)] {
        [("full_name", \.fullName), ("email", \.email), ("phone", \.phone)]
    }

    /// `{"email": "new@example.com", "phone": null}`: the fields set, null for a cleared one.
    static func encode(_ change: ProfileChange) -> String {
        var object: JSONObject = [:]
        for (key, path) in fields {
            if case .set(let value) = change[keyPath: path] { object.append(key: key, value: value.map(JSONValue.string) ?? .null) }
        }
        return JSONWriter.string(.object(object))
    }

    static func decode(_ payload: String) -> ProfileChange? {
        guard let value = try? JSONParser.parse(payload), case .object(let object) = value else { return nil }
        var change = ProfileChange()
        for (key, path) in fields {
            guard let field = object[key] else { continue }
            guard field.isNull || field.stringValue != nil else { return nil }
            change[keyPath: path] = .set(field.stringValue)
        }
        return change
    }

    /// "change e-mail to new@example.com, remove phone".
    static func summary(_ change: ProfileChange) -> String {
        let names = ["full_name": "name", "email": "e-mail", "phone": "phone"]
        let parts = fields.compactMap { key, path -> String? in
            guard case .set(let value) = change[keyPath: path], let name = names[key] else { return nil }
            return value.map { "\(name) to \($0)" } ?? "remove \(name)"
        }
        return "change " + parts.joined(separator: ", ")
    }
}
