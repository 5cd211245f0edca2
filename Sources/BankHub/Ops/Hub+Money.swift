import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// deposit, withdraw, transfer, and the one-time-code step-up in front of large ones.
extension Hub {
    func moveMoney(_ op: Op, _ args: Arguments, from id: ConnectionID,
                   _ responder: Responder) async throws(BankError) {
        let session = try session(of: id)
        let user = session.user.id
        let amount = try args.amount()
        let command: LedgerCommand
        switch op {
        case .deposit: command = .deposit(account: try args.account("account"), amount: amount)
        case .withdraw: command = .withdraw(account: try args.account("account"), amount: amount)
        default:
            assert(op == .transfer, "moveMoney handles the ops that move money")
            command = .transfer(from: try args.account("from"), to: try args.account("to"), amount: amount)
        }
        let request = MoneyRequest(command: command, user: user,
                                   note: try args.optionalText("note", lengthMax: UserInputRules.noteLengthMax),
                                   idempotencyKey: try args.idempotencyKey())
        let policy = security.policy
        if command.kind != .deposit, amount >= policy.otpThreshold || policy.otpNewPayee,
           try await needsCode(request, session: session) {
            try await holdForCode(request, session: session, responder)
            return
        }
        watchForThreats(request, session: session)
        // Queued in arrival order; it enters the ledger with the others of this pass (`flushLedger`), and the
        // reply comes after commit.
        execute(request, session: session, from: id, responder)
    }

    /// Queues the request for the ledger (`ledgerQueue`; whoever called the handler flushes it); the reply (and
    /// a `locked_action` threat when refused for a lock) follow its commit.
    func execute(_ request: MoneyRequest, session: Session, from id: ConnectionID, _ responder: Responder) {
        let threats = self.threats
        let address = connections[id]?.info.peerAddress
        let notifier = self.notifier
        let user = session.user
        // The receipt is derived from the committed transaction by the outbox worker, woken after the commit.
        ledgerQueue.append(LedgerService.Submission(request: request) { result in
            if case .failure(let error) = result, error.code == .accountLocked {
                threats.report(.lockedAction, user: user.id, username: user.username, ip: address,
                               detail: "\(request.command.kind.rawValue) refused: \(error.message)")
            }
            responder.finish(result.map(Self.moneyResult))
            if case .success(let outcome) = result, !outcome.replayed { notifier.queued() }
        })
    }

    static func moneyResult(_ outcome: MoneyOutcome) -> JSONValue {
        var result: JSONObject = [
            "txn": WireObjects.transaction(id: outcome.transaction, command: outcome.command, note: outcome.note,
                                           at: outcome.at),
            "balance": .string(outcome.balance.description),
        ]
        if outcome.replayed { result.append(key: "replayed", value: true) }
        return .object(result)
    }

    /// Whether this withdrawal or transfer must be confirmed with a code: at or above the threshold, or (with
    /// `otpNewPayee`) a first transfer to that account. One that would fail anyway fails now with its own error.
    private func needsCode(_ request: MoneyRequest, session: Session) async throws(BankError) -> Bool {
        let policy = security.policy
        if try await ledger.check(request) { return false }
        if request.command.amount >= policy.otpThreshold { return true }
        guard policy.otpNewPayee, case .transfer(_, let to, _) = request.command else { return false }
        let user = session.user.id
        let paidBefore = try? await readers.read { db in
            try db.prepare("""
                SELECT EXISTS(SELECT 1 FROM transactions WHERE user_id = ? AND kind = 'transfer' AND credit_account = ?)
                """).queryOne(user.rawValue, to.rawValue) { $0.int64(0) == 1 }
        }
        return paidBefore != true
    }

    /// Raises `large_transfer` and `transfer_burst` threats for what is about to execute.
    private func watchForThreats(_ request: MoneyRequest, session: Session) {
        let now = Clock.nowMilliseconds()
        let policy = security.policy
        let user = session.user
        if request.command.amount >= policy.otpThreshold {
            threats.report(.largeTransfer, user: user.id, username: user.username, ip: nil,
                           detail: "\(request.command.kind.rawValue) of \(request.command.amount) from \(request.command.debited)")
        }
        guard case .transfer(let from, _, _) = request.command else { return }
        let count = security.recordTransfer(from: from, now: now)
        if count > policy.burstTransfersPerMinute, security.mayRaise("burst:\(from)", now: now) {
            threats.report(.transferBurst, user: user.id, username: user.username, ip: nil,
                           detail: "\(count) transfers from account \(from) in a minute")
        }
    }
}
