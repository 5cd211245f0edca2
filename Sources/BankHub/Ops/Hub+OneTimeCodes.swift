import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// Step-up codes for large money movements (`otp_required` → `confirm_otp`), password reset and change,
/// and TOTP enrolment.
extension Hub {
    /// Holds a checked operation behind a challenge: stores it, pushes an `otp` event on `user:ID`, sends the
    /// code, and answers `otp_required` with the challenge. Storing the challenge waits for a commit, so all of
    /// this runs off the hub's shared loop; the held operation does not enter the ledger, so nothing waits for it.
    func holdForCode(_ request: MoneyRequest, session: Session, _ responder: Responder) async throws(BankError) {
        let user = session.user
        let policy = security.policy
        let purpose: OneTimeCodes.Purpose = request.command.kind == .withdrawal ? .withdraw : .transfer
        let summary = Self.summary(of: request.command)
        let payload = JSONWriter.string(Self.payload(of: request))
        let (codes, threats, services) = (services.codes, threats, services)
        Task {
            let issued: OneTimeCodes.Issued
            do {
                issued = try await codes.issue(for: user.id, purpose: purpose, payload: payload,
                                               lifetimeSeconds: policy.otpLifetimeSeconds)
            } catch {
                responder.fail(BankError(.internalError, "could not start the code check"))
                return
            }
            threats.report(.largeTransfer, user: user.id, username: user.username, ip: nil,
                           detail: "\(summary) held for a code")
            responder.fail(Self.promptForCode(issued, op: purpose.rawValue, summary: summary, to: user, prefer: .sms,
                                              lifetimeSeconds: policy.otpLifetimeSeconds, services: services))
        }
    }

    /// `confirm_otp {challenge, code}`: runs the held operation once, checked again now. Runs in the
    /// connection's money lane (see `MoneyLanes`): redeeming the code waits for a commit.
    func confirmCode(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let session = try session(of: id)
        let challenge = try args.string("challenge")
        let code = try args.string("code")
        let address = connections[id]?.info.peerAddress
        let user = session.user
        let record: ChallengeRecord
        do {
            record = try await checkingCode(.user(user.id), username: user.username, ip: address) { [services] in
                try await services.codes.redeem(challenge, user: user.id, purposes: [.transfer, .withdraw, .profile],
                                                 code: code)
            }
        } catch {
            reportCodeFailure(error, user: user, ip: address)
            throw Self.bankError(error)
        }
        // Checked again after the wait: a session ended meanwhile (logout, lock, expiry) moves no money.
        let current = try self.session(of: id)
        guard current.tokenHash == session.tokenHash else {
            throw BankError(.unauthorized, "the session ended while the code was being checked")
        }
        if record.purpose == OneTimeCodes.Purpose.profile.rawValue {
            publishConfirmed(record, user: user.id,
                             summary: ProfileChangeCoding.decode(record.payload).map(ProfileChangeCoding.summary) ?? "")
            try confirmProfileChange(record, user: user.id, responder)
            return
        }
        // A held standing order (Hub+OrderCodes) is created rather than executed.
        if let order = Self.heldOrder(from: record.payload, user: user.id) {
            return try await confirmHeldOrder(order, challenge: record, responder)
        }
        guard let request = Self.request(from: record.payload, user: user.id) else {
            throw BankError(.internalError, "the held operation could not be read back")
        }
        publishConfirmed(record, user: user.id, summary: Self.summary(of: request.command))
        execute(request, session: current, from: id, responder)
    }

    /// Other screens showing the prompt learn that it was answered.
    private func publishConfirmed(_ record: ChallengeRecord, user: UserID, summary: String) {
        services.sequencer.submit([EventDraft(stream: .user(user), kind: "otp", data: [
            "challenge": .string(record.id), "op": .string(record.purpose), "summary": .string(summary),
            "status": "confirmed", "expires_at": .string(record.expiresAt.rfc3339),
        ])], at: Clock.now())
    }

    private func reportCodeFailure(_ error: any Error, user: UserRecord, ip: String?) {
        guard let error = error as? BankError, error.code == .otpInvalid || error.code == .otpExpired else { return }
        threats.report(.otpFailed, user: user.id, username: user.username, ip: ip, detail: error.message)
    }

    static func bankError(_ error: any Error) -> BankError {
        error as? BankError ?? BankError(.internalError, "the code check failed inside the hub")
    }

    static func summary(of command: LedgerCommand) -> String {
        switch command {
        case .deposit(let account, let amount): "deposit \(amount) to \(account)"
        case .withdraw(let account, let amount): "withdraw \(amount) from \(account)"
        case .transfer(let from, let to, let amount): "transfer \(amount) from \(from) to \(to)"
        case .goalFund(let account, let goal, let amount): "save \(amount) from \(account) into goal \(goal)"
        case .goalWithdraw(let goal, let account, let amount): "return \(amount) from goal \(goal) to \(account)"
        }
    }

    /// The held operation, as stored with its challenge.
    static func payload(of request: MoneyRequest) -> JSONValue {
        var object: JSONObject = ["kind": .string(request.command.kind.rawValue),
                                  "from": .string(request.command.debited.description),
                                  "to": .string(request.command.credited.description),
                                  "amount": .string(request.command.amount.description)]
        if let note = request.note { object.append(key: "note", value: .string(note)) }
        if let key = request.idempotencyKey { object.append(key: "idempotency_key", value: .string(key)) }
        return .object(object)
    }

    static func request(from payload: String, user: UserID) -> MoneyRequest? {
        guard let value = try? JSONParser.parse(payload), let kind = value["kind"]?.stringValue,
              let from = value["from"]?.stringValue.flatMap(parseIdentifier),
              let to = value["to"]?.stringValue.flatMap(parseIdentifier),
              let amount = value["amount"]?.stringValue.flatMap({ try? Money.parseAmount($0) }) else { return nil }
        let command: LedgerCommand = kind == TransactionKind.withdrawal.rawValue
            ? .withdraw(account: AccountID(from), amount: amount)
            : .transfer(from: AccountID(from), to: AccountID(to), amount: amount)
        return MoneyRequest(command: command, user: user, note: value["note"]?.stringValue,
                            idempotencyKey: value["idempotency_key"]?.stringValue)
    }
}
