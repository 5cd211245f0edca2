import BankCore
import BankStorage
import WebSocketTransport

/// The messages the hub sends on its own: a notice after each successful login and a receipt after each
/// completed deposit, withdrawal or transfer. Both prefer e-mail and go through the notifier's outbox.
extension Hub {
    /// The longest user agent quoted in a login notice.
    static let userAgentLengthMax = 200

    /// "New login to BankHub", with the address and user agent of the connection that logged in.
    nonisolated func notifyLogin(_ user: UserRecord, _ info: ConnectionInfo) {
        let (subject, body) = Self.loginNotice(user, info, at: Clock.now())
        notifier.notify(user, subject: subject, body: body, prefer: .email)
    }

    /// The receipt of a committed deposit, withdrawal or transfer, derived from the ledger by the outbox worker
    /// (`ReceiptBatch`) for the acting user as read then; an idempotent replay commits nothing and gets none.
    static func receiptMessage(_ outcome: MoneyOutcome, to user: UserRecord) -> Notifier.Message {
        let (subject, body) = receipt(outcome)
        // E-mail first: the route does not depend on whether an SMS gateway is configured.
        return Notifier.message(to: user, subject: subject, body: body, prefer: .email, smsGateway: false)
    }

    static func loginNotice(_ user: UserRecord, _ info: ConnectionInfo, at: Timestamp) -> (String, String) {
        let agent = info.userAgent.map { String($0.prefix(userAgentLengthMax)) } ?? "unknown"
        let body = """
            Hello \(user.fullName ?? user.username),

            Your BankHub user \(user.username) just logged in.

            Time: \(at.rfc3339)
            IP address: \(info.peerAddress)
            Device: \(agent)

            If this was not you, change your password now and tell the bank.
            """
        return ("New login to BankHub", body)
    }

    static func receipt(_ outcome: MoneyOutcome) -> (String, String) {
        let command = outcome.command
        let what: String
        var lines: [String]
        switch command {
        case .deposit(let account, let amount):
            what = "deposit of \(amount)"
            lines = ["Deposit to account \(account): \(amount)"]
        case .withdraw(let account, let amount):
            what = "withdrawal of \(amount)"
            lines = ["Withdrawal from account \(account): \(amount)"]
        case .transfer(let from, let to, let amount):
            what = "transfer of \(amount)"
            lines = ["Transfer from account \(from) to account \(to): \(amount)"]
        case .goalFund(let account, let goal, let amount):
            what = "savings of \(amount)"
            lines = ["From account \(account) into savings goal \(goal): \(amount)"]
        case .goalWithdraw(let goal, let account, let amount):
            what = "savings returned, \(amount)"
            lines = ["From savings goal \(goal) into account \(account): \(amount)"]
        }
        lines += [
            "Transaction: \(outcome.transaction)",
            "Time: \(outcome.at.rfc3339)",
            "Balance of account \(command.reportedAccount) after it: \(outcome.balance)",
        ]
        if let note = outcome.note, !note.isEmpty { lines.append("Note: \(note)") }
        return ("BankHub receipt: \(what)", "Completed.\n\n" + lines.joined(separator: "\n"))
    }
}
