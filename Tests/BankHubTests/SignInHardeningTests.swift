import BankCrypto
import BankWire
import Foundation
import Testing

/// The lockout does not leak the password, and a second factor cannot be replaced with a session alone.
@Suite(.serialized) struct SignInHardeningTests {
    static let password: JSONValue = "correct horse battery"

    /// While locked, login answers exactly the same for a right and a wrong password (guessing cannot go on
    /// through the lock), and wrong passwords during the lock still count (the brute-force alert goes on).
    @Test func lockAnswersAlikeWhateverThePassword() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            _ = try await admin.client.ok("subscribe", ["stream": "admin:threats"])
            _ = try await hub.customer("carol")
            let attacker = try await hub.client()
            for _ in 0..<5 {
                #expect(try await attacker.errorCode("login", ["username": "carol", "password": "wrong password"]) == "unauthorized")
            }
            let wrong = try await attacker.request("login", ["username": "carol", "password": "another guess"])
            let right = try await attacker.request("login", ["username": "carol", "password": Self.password])
            #expect(wrong["error"]?["code"] == "account_locked")
            #expect(wrong["error"] == right["error"])
            var details: [String] = []
            while !details.contains(where: { $0.hasPrefix("6 failed logins") }) {
                let event = try await admin.client.nextEvent(kind: "threat")
                if event["data"]?["kind"] == "brute_force" { details.append(event["data"]?["detail"]?.stringValue ?? "") }
            }
        }
    }

    /// While TOTP is active, `totp_enroll` needs the password and a current code; the old factor stays in force
    /// until the new one is confirmed, and only then stops working.
    @Test func replacingTOTPNeedsPasswordAndCodeAndKeepsTheOldFactor() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let now = Int64(Date().timeIntervalSince1970)
            let first = try await enrol(alice.client, confirmAt: now - 30)
            let missing = try await alice.client.request("totp_enroll")
            #expect(missing["error"]?["code"] == "bad_request")
            #expect(missing["error"]?["field"] == "password")
            let wrongPassword = try await alice.client.request("totp_enroll", ["password": "not my password",
                                                                              "code": .string(first.code(at: now))])
            #expect(wrongPassword["error"]?["code"] == "forbidden")
            #expect(wrongPassword["error"]?["field"] == "password")
            #expect(try await alice.client.errorCode("totp_enroll", ["password": Self.password, "code": "00000x"]) == "otp_invalid")
            let replacement = try await alice.client.ok("totp_enroll", ["password": Self.password,
                                                                        "code": .string(first.code(at: now))])
            let second = TOTP(secret: try #require(Base32.decode(replacement["secret"]?.stringValue ?? "")))
            let login: JSONValue = ["username": "alice", "password": Self.password]
            #expect(try await hub.client().errorCode("login", login) == "otp_required")
            _ = try await hub.client().ok("login", ["username": "alice", "password": Self.password,
                                                    "totp": .string(first.code(at: now + 30))])
            #expect(try await alice.client.ok("totp_confirm", ["code": .string(second.code(at: now))])["enabled"] == true)
            #expect(try await hub.client().errorCode("login", ["username": "alice", "password": Self.password,
                                                               "totp": .string(first.code(at: now))]) == "otp_required")
            _ = try await hub.client().ok("login", ["username": "alice", "password": Self.password,
                                                    "totp": .string(second.code(at: now + 30))])
        }
    }

    private func enrol(_ client: HubClient, confirmAt time: Int64) async throws -> TOTP {
        let enrolled = try await client.ok("totp_enroll")
        let totp = TOTP(secret: try #require(Base32.decode(enrolled["secret"]?.stringValue ?? "")))
        #expect(try await client.ok("totp_confirm", ["code": .string(totp.code(at: time))])["enabled"] == true)
        return totp
    }
}
