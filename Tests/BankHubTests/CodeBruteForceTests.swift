import BankCore
import BankCrypto
import BankStorage
import BankStore
import BankWire
import Foundation
import Logging
import Synchronization
import Testing

/// One-time codes cannot be guessed by spreading tries over many challenges: wrong codes are counted per user
/// across every flow, and past the limit even the right code is refused with `too_many_attempts`.
@Suite(.serialized) struct CodeBruteForceTests {
    static let password: JSONValue = "correct horse battery"

    /// A customer with a phone and an e-mail address and one account holding 5,000.00.
    /// Alice has a phone and an e-mail address; without an SMS gateway her codes go by e-mail.
    private func alice(_ hub: TestHub) async throws -> Customer {
        let client = try await hub.client()
        let signedUp = try await client.ok("signup", ["username": "alice", "password": Self.password,
                                                       "phone": "+15550100", "email": "alice@example.com"])
        let login = try await client.ok("login", ["username": "alice", "password": Self.password])
        let account = signedUp["account"]?["id"]?.stringValue ?? ""
        _ = try await client.ok("deposit", ["account": .string(account), "amount": "5000.00"])
        return Customer(client: client, token: login["token"]?.stringValue ?? "", account: account,
                        userID: login["user"]?["id"]?.stringValue ?? "")
    }

    /// The next `threat` of `kind` on an admin's `admin:threats` subscription (other threats are skipped).
    private func threat(_ kind: String, on admin: HubClient) async throws -> JSONValue {
        while true {
            let event = try await admin.nextEvent(kind: "threat")
            if event["data"]?["kind"]?.stringValue == kind { return event }
        }
    }

    /// Ten wrong reset codes over four fresh challenges (each allows 3) block the user's reset codes: the right
    /// code of a fresh challenge is then refused with `too_many_attempts` and `retry_after`, the password stays,
    /// and admins see a `code_brute_force` threat naming the user. A name nobody has gets the same answers.
    @Test func limitsResetCodesPerUserAcrossChallenges() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            _ = try await admin.client.ok("subscribe", ["stream": "admin:threats"])
            _ = try await alice(hub)
            let attacker = try await hub.client()
            let guess: JSONValue = ["username": "alice", "code": "00000x", "new_password": "attacker was here"]
            for round in 0..<4 {
                _ = try await attacker.ok("forgot_password", ["username": "alice"])
                for _ in 0..<(round < 3 ? 3 : 1) {
                    #expect(try await attacker.errorCode("reset_password", guess) != "too_many_attempts")
                }
            }
            let before = try hub.lastOutboxID()
            _ = try await attacker.ok("forgot_password", ["username": "alice"])
            let code = try await hub.code(to: "alice@example.com", after: before)
            let refused = try await attacker.request("reset_password", ["username": "alice", "code": .string(code),
                                                                        "new_password": "attacker was here"])
            #expect(refused["error"]?["code"] == "too_many_attempts")
            #expect((refused["error"]?["retry_after"]?.int64Value ?? 0) >= 1)
            _ = try await hub.client().ok("login", ["username": "alice", "password": Self.password])
            let alert = try await threat("code_brute_force", on: admin.client)
            #expect(alert["data"]?["username"] == "alice")
            #expect(alert["data"]?["severity"] == "high")
            let nobody: JSONValue = ["username": "nobody", "code": "00000x", "new_password": "attacker was here"]
            var answers: [String?] = []
            for _ in 0..<11 { answers.append(try await attacker.errorCode("reset_password", nobody)) }
            #expect(answers.prefix(10).allSatisfy { $0 == "otp_invalid" })
            #expect(answers.last == "too_many_attempts")
        }
    }

    /// Step-up codes: a new hold retires the user's older pending challenge, and ten wrong codes over several
    /// challenges block `confirm_otp` for the user, also with the right code; no money moves.
    @Test func limitsStepUpCodesAcrossChallengesAndRetiresOldOnes() async throws {
        try await TestHub.with { hub in
            let alice = try await alice(hub)
            let bob = try await hub.customer("bob", deposit: nil)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1000.00"]
            func hold() async throws -> (challenge: JSONValue, code: String) {
                let before = try hub.lastOutboxID()
                let challenge = try #require(try await alice.client.request("transfer", args)["error"]?["challenge"])
                return (challenge, try await hub.code(to: "alice@example.com", after: before))
            }
            let first = try await hold()
            let second = try await hold()
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": first.challenge,
                                                                    "code": .string(first.code)]) == "otp_expired")
            var wrong = 0
            var challenge = second.challenge
            while wrong < 10 {
                for _ in 0..<min(3, 10 - wrong) {
                    _ = try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": "00000x"])
                    wrong += 1
                }
                if wrong < 10 { challenge = try await hold().challenge }
            }
            let last = try await hold()
            let refused = try await alice.client.request("confirm_otp", ["challenge": last.challenge, "code": .string(last.code)])
            #expect(refused["error"]?["code"] == "too_many_attempts")
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "5000.00")
        }
    }

    /// A right password with a wrong `totp` counts: after ten, login with the right password and a right code is
    /// `too_many_attempts`, and the login history says why.
    @Test func limitsTOTPAtLogin() async throws {
        try await TestHub.with { hub in
            let alice = try await alice(hub)
            let totp = try await enrol(alice.client)
            let attacker = try await hub.client()
            for _ in 0..<10 {
                #expect(try await attacker.errorCode("login", ["username": "alice", "password": Self.password,
                                                               "totp": "00000x"]) == "otp_required")
            }
            let now = Int64(Date().timeIntervalSince1970)
            let refused = try await attacker.request("login", ["username": "alice", "password": Self.password,
                                                               "totp": .string(totp.code(at: now))])
            #expect(refused["error"]?["code"] == "too_many_attempts")
            let outcomes = try await alice.client.ok("login_history")["attempts"]?.arrayValue?.map { $0["outcome"]?.stringValue }
            #expect(outcomes?.first == "too_many_attempts")
            #expect(outcomes?.contains("totp_invalid") == true)
        }
    }

    /// Ten wrong admin keys block that admin's step-up, even with the right key; another admin is not affected.
    @Test func limitsTheAdminStepUp() async throws {
        try await TestHub.with { hub in
            let adam = try await hub.staff("adam", role: .admin)
            let eve = try await hub.staff("eve", role: .admin)
            let carol = try await hub.customer("carol")
            for _ in 0..<10 {
                #expect(try await adam.client.errorCode("lock_account", ["account": .string(carol.account),
                                                                         "admin_key": "guess"]) == "forbidden")
            }
            let key: JSONValue = .string(TestHub.adminKey)
            #expect(try await adam.client.errorCode("lock_account", ["account": .string(carol.account),
                                                                     "admin_key": key]) == "too_many_attempts")
            #expect(try await eve.client.ok("lock_account", ["account": .string(carol.account),
                                                             "admin_key": key])["account"]?["status"] == "locked")
        }
    }

    /// The stored code hash is HMAC-SHA256 under the key in `<database>.code-key` (mode 0600), not a plain hash:
    /// the database alone does not allow guessing codes offline.
    @Test func storesCodesKeyedWithAKeyOutsideTheDatabase() async throws {
        // SQLite: the key file beside the database; PostgreSQL: the same path given as `--code-key-file`.
        try await TestHub.with(configure: { options in
            if TestDatabase.isPostgres { (options.hub.codeKeyHex, options.hub.codeKeyFile) = (nil, options.databasePath + ".code-key") }
        }) { hub in
            let alice = try await alice(hub)
            let bob = try await hub.customer("bob", deposit: nil)
            let before = try hub.lastOutboxID()
            let reply = try await alice.client.request("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                    "amount": "1000.00"])
            let challenge = try #require(reply["error"]?["challenge"]?.stringValue)
            let code = try await hub.code(to: "alice@example.com", after: before)
            let keyPath = hub.databasePath + ".code-key"
            let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)
            let key = try #require(Hex.decode(try String(contentsOfFile: keyPath, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(key.count == 32)
            let stored = try storedHash(hub, challenge)
            let message = Array("\(challenge):\(code)".utf8)
            #expect(stored == HMAC.authenticate(message, key: key))
            #expect(stored != SHA256.hash(message))
        }
        let key = String(repeating: "ab", count: 32)
        try await TestHub.with(configure: { $0.hub.codeKeyHex = key }) { hub in
            let alice = try await alice(hub)
            let before = try hub.lastOutboxID()
            _ = try await alice.client.ok("logout")
            _ = try await alice.client.ok("forgot_password", ["username": "alice"])
            let code = try await hub.code(to: "alice@example.com", after: before)
            let connection = try hub.database()
            let challenge = try #require(try connection.prepare("SELECT id FROM otp_challenges ORDER BY created_at DESC LIMIT 1")
                .queryOne { $0.string(0) })
            #expect(try storedHash(hub, challenge) == HMAC.authenticate(Array("\(challenge):\(code)".utf8), key: Hex.decode(key) ?? []))
            #expect(!FileManager.default.fileExists(atPath: hub.databasePath + ".code-key"))
        }
    }

    /// The log sink (the default, and the SMS sink) logs a code message by its subject and recipient, never its
    /// body; the outbox keeps the message as sent, so `bankhub outbox` still shows the code.
    @Test func keepsCodesOutOfTheLog() async throws {
        let lines = CapturedLog()
        var logger = Logger(label: "bankhub-test") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .trace
        try await TestHub.with(logger: logger) { hub in
            _ = try await alice(hub)
            let before = try hub.lastOutboxID()
            _ = try await hub.client().ok("forgot_password", ["username": "alice"])
            let code = try await hub.code(to: "alice@example.com", after: before)
            var logged: String?
            for _ in 0..<250 where logged == nil {
                logged = lines.all.first { $0.contains("Reset your BankHub password") }
                if logged == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let line = try #require(logged, "the log sink delivered the reset message")
            #expect(line.contains("alice@example.com"))
            #expect(!line.contains(code))
            #expect(!lines.all.contains { $0.contains(code) })
        }
    }

    private func storedHash(_ hub: TestHub, _ challenge: String) throws -> [UInt8]? {
        let connection = try hub.database()
        return try connection.prepare("SELECT code_hash FROM otp_challenges WHERE id = ?").queryOne(challenge) { $0.blob(0) }
    }

    /// Enrols and confirms TOTP for the logged-in user of `client`; returns the generator.
    private func enrol(_ client: HubClient) async throws -> TOTP {
        let enrolled = try await client.ok("totp_enroll")
        let encoded = try #require(enrolled["secret"]?.stringValue)
        let totp = TOTP(secret: try #require(Base32.decode(encoded)))
        let now = Int64(Date().timeIntervalSince1970)
        _ = try await client.ok("totp_confirm", ["code": .string(totp.code(at: now - 30))])
        return totp
    }
}

/// Log lines kept in memory, each as "message key=value ...".
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let lines: CapturedLog
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.append(([event.message.description] + fields).joined(separator: " "))
    }
}
