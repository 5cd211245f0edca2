import BankCore
import BankStorage

/// What every flow that holds an operation behind a one-time code does once the challenge is stored: a pending
/// `otp` event on `user:ID` (every open screen of the user shows the prompt), the code through the notifier, and
/// the `otp_required` answer naming the challenge. Transfers and withdrawals, standing orders and contact changes
/// share it, so the prompt, the message and the answer read the same everywhere.
extension Hub {
    static func promptForCode(_ issued: OneTimeCodes.Issued, op: String, summary: String, to user: UserRecord,
                              prefer: Notifier.Channel, lifetimeSeconds: Int, services: HubServices,
                              advice: String = "", sentTo: String = "") -> BankError {
        services.sequencer.submit([EventDraft(stream: .user(user.id), kind: "otp", data: [
            "challenge": .string(issued.challenge), "op": .string(op), "summary": .string(summary),
            "status": "pending", "expires_at": .string(issued.expiresAt.rfc3339),
        ])], at: Clock.now())
        services.notifier.notify(user, subject: "Your BankHub code", body: "Your BankHub code is \(issued.code). "
                                 + "It confirms: \(summary). It expires in \(lifetimeSeconds / 60) minutes.\(advice)",
                                 prefer: prefer)
        return BankError(.otpRequired, "a one-time code was sent\(sentTo) to confirm: \(summary)",
                         challenge: issued.challenge, expiresAt: issued.expiresAt.rfc3339)
    }
}
