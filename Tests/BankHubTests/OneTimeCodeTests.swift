import BankCore
import BankCrypto
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// One-time codes end to end against the real hub: large transfers held for a code that is pushed as an `otp`
/// event and delivered through the outbox; wrong codes, expiry and replay; password reset and change; TOTP.
@Suite(.serialized) struct OneTimeCodeTests {
    /// The newest code sent to `recipient`, read from the outbox as a person on the machine would
    /// (`bankhub outbox`).
    static func lastCode(_ hub: TestHub, to recipient: String) throws -> String? {
        let connection = try hub.database()
        let body = try connection.prepare("""
            SELECT body FROM outbox WHERE recipient = ? AND subject LIKE '%code%' OR recipient = ? AND subject LIKE '%password%'
            ORDER BY id DESC LIMIT 1
            """).queryOne(recipient, recipient) { $0.string(0) }
        guard let body, let range = body.range(of: #"\b[0-9]{6}\b"#, options: .regularExpression) else { return nil }
        return String(body[range])
    }

    private func payer(_ hub: TestHub) async throws -> (Customer, Customer) {
        let alice = try await hub.client()
        let signup = try await alice.ok("signup", ["username": "alice", "password": "correct horse battery",
                                                   "phone": "+15550100", "email": "alice@example.com"])
        let login = try await alice.ok("login", ["username": "alice", "password": "correct horse battery"])
        let account = signup["account"]?["id"]?.stringValue ?? ""
        _ = try await alice.ok("deposit", ["account": .string(account), "amount": "5000.00"])
        let payer = Customer(client: alice, token: login["token"]?.stringValue ?? "", account: account,
                             userID: login["user"]?["id"]?.stringValue ?? "")
        return (payer, try await hub.customer("bob", deposit: nil))
    }

    /// A transfer at the threshold is held: `otp_required` with a challenge, an `otp` event on every screen of
    /// the user, a code by e-mail (no SMS gateway is configured); the right code executes it exactly once.
    @Test func holdsLargeTransferUntilTheCodeIsConfirmed() async throws {
        try await TestHub.with { hub in
            let (alice, bob) = try await payer(hub)
            let screen = try await hub.client()
            _ = try await screen.ok("auth", ["token": .string(alice.token)])
            _ = try await screen.ok("subscribe", ["stream": .string("user:\(alice.userID)")])
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1000.00"]
            let held = try await alice.client.request("transfer", args)
            #expect(held["error"]?["code"] == "otp_required")
            let challenge = try #require(held["error"]?["challenge"])
            let prompt = try await screen.nextEvent()
            #expect(prompt["event"] == "otp")
            #expect(prompt["data"]?["challenge"] == challenge)
            #expect(prompt["data"]?["summary"]?.stringValue?.contains("1000.00") == true)
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "5000.00")
            let code = try #require(try await waitForCode(hub, to: "alice@example.com"))
            let wrong = code == "000000" ? "111111" : "000000"
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": .string(wrong)]) == "otp_invalid")
            let done = try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])
            #expect(done["balance"] == "4000.00")
            #expect(done["txn"]?["amount"] == "1000.00")
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": .string(code)]) == "otp_invalid")
            #expect(try await bob.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "1000.00")
            let answered = try await screen.nextEvent()
            #expect(answered["data"]?["status"] == "confirmed")
        }
    }

    /// A held transfer with an idempotency key, once confirmed, is replayed on retry without a new code.
    @Test func retryOfAConfirmedTransferReplaysWithoutANewCode() async throws {
        try await TestHub.with { hub in
            let (alice, bob) = try await payer(hub)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1500.00",
                                   "idempotency_key": "rent-december"]
            let challenge = try #require(try await alice.client.request("transfer", args)["error"]?["challenge"])
            let code = try #require(try await waitForCode(hub, to: "alice@example.com"))
            let done = try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])
            let retry = try await alice.client.ok("transfer", args)
            #expect(retry["replayed"] == true)
            #expect(retry["txn"]?["id"] == done["txn"]?["id"])
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "3500.00")
        }
    }

    /// Three wrong codes kill the challenge; an expired challenge is refused; a transfer that would fail
    /// anyway fails at once with its own error; another user cannot confirm someone else's challenge.
    @Test func refusesWrongExpiredAndForeignCodes() async throws {
        // Long enough for three tries on a loaded machine, short enough to wait out.
        try await TestHub.with(configure: { $0.hub.security.otpLifetimeSeconds = 3 }) { hub in
            let (alice, bob) = try await payer(hub)
            #expect(try await alice.client.errorCode("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                  "amount": "9000.00"]) == "insufficient_funds")
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "2000.00"]
            let first = try #require(try await alice.client.request("transfer", args)["error"]?["challenge"])
            #expect(try await bob.client.errorCode("confirm_otp", ["challenge": first, "code": "123456"]) == "otp_invalid")
            for expected in ["otp_invalid", "otp_invalid", "otp_expired"] {
                #expect(try await alice.client.errorCode("confirm_otp", ["challenge": first, "code": "99999x"]) == expected)
            }
            let second = try #require(try await alice.client.request("transfer", args)["error"]?["challenge"])
            let code = try #require(try await waitForCode(hub, to: "alice@example.com"))
            try await Task.sleep(for: .milliseconds(3_100))
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": second, "code": .string(code)]) == "otp_expired")
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "5000.00")
        }
    }

    /// forgot_password answers alike for unknown users; the mailed code resets the password and revokes
    /// old sessions; change_password keeps this session and revokes the others.
    @Test func resetsAndChangesPasswords() async throws {
        try await TestHub.with { hub in
            let (alice, _) = try await payer(hub)
            let other = try await hub.client()
            _ = try await other.ok("auth", ["token": .string(alice.token)])
            let anonymous = try await hub.client()
            #expect(try await anonymous.ok("forgot_password", ["username": "nobody"]) == [:])
            #expect(try await anonymous.ok("forgot_password", ["username": "alice"]) == [:])
            let code = try #require(try await waitForCode(hub, to: "alice@example.com"))
            #expect(try await anonymous.errorCode("reset_password", ["username": "alice", "code": "000000x",
                                                                     "new_password": "a new passphrase"]) == "otp_invalid")
            _ = try await anonymous.ok("reset_password", ["username": "alice", "code": .string(code),
                                                          "new_password": "a new passphrase"])
            #expect(try await other.code(afterRevocation: "accounts", expected: "unauthorized") == "unauthorized")
            #expect(try await anonymous.errorCode("login", ["username": "alice", "password": "correct horse battery"]) == "unauthorized")
            _ = try await anonymous.ok("login", ["username": "alice", "password": "a new passphrase"])
            let second = try await hub.client()
            _ = try await second.ok("login", ["username": "alice", "password": "a new passphrase"])
            #expect(try await anonymous.errorCode("change_password", ["old": "wrong one!", "new": "third passphrase"]) == "forbidden")
            _ = try await anonymous.ok("change_password", ["old": "a new passphrase", "new": "third passphrase"])
            _ = try await anonymous.ok("accounts")
            #expect(try await second.code(afterRevocation: "accounts", expected: "unauthorized") == "unauthorized")
        }
    }

    /// TOTP: enrol, confirm with a current code (RFC 6238), then login needs a code and an admin can use a
    /// code instead of the admin key; a code is accepted once.
    @Test func enrolsTOTPAndUsesItForStepUp() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            let carol = try await hub.customer("carol")
            let enrolled = try await admin.client.ok("totp_enroll")
            let encoded = try #require(enrolled["secret"]?.stringValue)
            let secret = try #require(Base32.decode(encoded))
            #expect(enrolled["uri"]?.stringValue?.hasPrefix("otpauth://totp/") == true)
            let totp = TOTP(secret: secret)
            let now = Int64(Date().timeIntervalSince1970)
            #expect(try await admin.client.errorCode("totp_confirm", ["code": "000000x"]) == "otp_invalid")
            #expect(try await admin.client.ok("totp_confirm", ["code": .string(totp.code(at: now - 30))])["enabled"] == true)
            let code = totp.code(at: now)
            let locked = try await admin.client.ok("lock_account", ["account": .string(carol.account), "totp": .string(code)])
            #expect(locked["account"]?["status"] == "locked")
            #expect(try await admin.client.errorCode("unlock_account", ["account": .string(carol.account), "totp": .string(code)]) == "forbidden")
            let fresh = try await hub.client()
            #expect(try await fresh.errorCode("login", ["username": "adam", "password": "correct horse battery"]) == "otp_required")
            _ = try await fresh.ok("login", ["username": "adam", "password": "correct horse battery",
                                             "totp": .string(totp.code(at: now + 30))])
        }
    }

    /// With `otpNewPayee`, the first transfer to an account is held even when small; later ones are not.
    @Test func challengesNewPayeesWhenAsked() async throws {
        try await TestHub.with(configure: { $0.hub.security.otpNewPayee = true }) { hub in
            let (alice, bob) = try await payer(hub)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "5.00"]
            let challenge = try #require(try await alice.client.request("transfer", args)["error"]?["challenge"])
            let code = try #require(try await waitForCode(hub, to: "alice@example.com"))
            _ = try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])
            #expect(try await alice.client.ok("transfer", args)["balance"] == "4990.00")
        }
    }

    /// The outbox is written in the next commit after the reply; wait briefly for it.
    private func waitForCode(_ hub: TestHub, to recipient: String) async throws -> String? {
        for _ in 0..<100 {
            if let code = try Self.lastCode(hub, to: recipient) { return code }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
