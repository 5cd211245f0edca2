@testable import BankHub
import BankCore
import BankCrypto
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// The janitor against the real hub and its file: what is past its retention is deleted, at start and then
/// periodically; live sessions, fresh challenges, recent login history, the ledger, events and the audit log
/// stay exactly as they were.
@Suite(.serialized) struct RetentionTests {
    static let password: JSONValue = "correct horse battery"
    static let dayMilliseconds: Int64 = 86_400_000

    /// What the first run leaves behind for the janitor to judge.
    struct Setup {
        let alice: String
        let bob: String
        let liveToken: String
        let expiringToken: String
        let oldChallenge: String
        let freshChallenge: String
    }

    /// At start, the janitor deletes the expired session, the challenge over a day old, the login attempt over
    /// 400 days old and failed attempts past the per-user maximums (in batches of 100 here); everything else stays.
    @Test func startPassDeletesOnlyWhatIsPastRetention() async throws {
        let files = PersistentHub()
        defer { files.remove() }
        let setup = try await files.run { run in try await Self.makeSessionsAndChallenges(run) }
        let before = try Self.seedOldRows(files, setup)

        try await files.run(configure: { options in
            options.hub.retention.purgeBatchRowsMax = 100
            options.hub.retention.loginFailuresPerUserMax = 50
            options.hub.retention.loginFailuresUnknownUserMax = 20
        }) { run in
            try await run.janitorPasses(1)
            let db = try files.database()
            let sessions = Set(try db.prepare("SELECT token_hash FROM sessions").query { Hex.encode($0.blob(0)).uppercased() })
            #expect(!sessions.contains(Self.tokenHashHex(setup.expiringToken)), "an expired session was kept")
            #expect(sessions.contains(Self.tokenHashHex(setup.liveToken)), "a live session was deleted")
            let challenges = try Self.strings(db, "SELECT id FROM otp_challenges")
            #expect(!challenges.contains(setup.oldChallenge), "a challenge over a day old was kept")
            #expect(challenges.contains(setup.freshChallenge), "a fresh challenge was deleted")
            #expect(try Self.count(db, "login_attempts WHERE user_id = \(setup.bob) AND outcome <> 'success'") == 50)
            #expect(try Self.count(db, "login_attempts WHERE user_id = \(setup.bob) AND outcome = 'success'") == 1,
                    "a successful login was trimmed with the failures")
            #expect(try Self.count(db, "login_attempts WHERE user_id IS NULL") == 20)
            #expect(try Self.immutableCounts(db) == before, "the ledger, events or audit log changed")
            #expect(try LedgerRecords.violations(db).isEmpty)

            // What users see: the live token still works, the expired one does not; the history lost only the
            // attempt past 400 days.
            let client = try await run.client()
            #expect(try await client.errorCode("auth", ["token": .string(setup.expiringToken)]) == "unauthorized")
            _ = try await client.ok("auth", ["token": .string(setup.liveToken)])
            let history = try await client.ok("login_history", ["limit": 200])["attempts"]?.arrayValue ?? []
            let addresses = history.compactMap { $0["ip"]?.stringValue }
            #expect(addresses.contains("10.0.0.2"))
            #expect(!addresses.contains("10.0.0.1"))
        }
    }

    /// After the first pass the janitor keeps running: an expired session and an old login attempt written
    /// while the hub runs are gone after the next passes.
    @Test func laterPassesDeleteWhatExpiredSince() async throws {
        try await TestHub.with(configure: { $0.hub.retention.janitorIntervalMilliseconds = 100 }) { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let user = try #require(Int64(alice.userID))
            let passes = hub.server.janitor.completedPasses
            let now = Clock.nowMilliseconds()
            let db = try hub.database(write: true)
            try db.prepare("INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
                .run(SecureRandom.bytes(32), user, now - 2 * Self.dayMilliseconds, now - Self.dayMilliseconds)
            try db.prepare("""
                INSERT INTO login_attempts(user_id, username, ip, outcome, created_at) VALUES (?, 'alice', '10.9.9.9', 'success', ?)
                """).run(user, now - 500 * Self.dayMilliseconds)
            // Two more passes: the second of them started after the rows were written.
            for _ in 0..<3_000 where hub.server.janitor.completedPasses < passes + 2 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try Self.count(db, "sessions WHERE expires_at < \(now)") == 0)
            #expect(try Self.count(db, "login_attempts WHERE ip = '10.9.9.9'") == 0)
            #expect(try Self.count(db, "sessions") == 1, "the live session went too")
            _ = try await alice.client.ok("auth", ["token": .string(alice.token)])
        }
    }

    /// First run: alice (two sessions, two challenges held for a code) and bob, through the protocol.
    static func makeSessionsAndChallenges(_ run: PersistentHub.Run) async throws -> Setup {
        let alice = try await run.client()
        _ = try await alice.ok("signup", ["username": "alice", "password": password, "phone": "+15550100"])
        let live = try await alice.ok("login", ["username": "alice", "password": password])
        let account = try #require(try await alice.ok("open_account")["account"]?["id"])
        _ = try await alice.ok("deposit", ["account": account, "amount": "5000.00"])
        let other = try await run.client()
        let expiring = try await other.ok("login", ["username": "alice", "password": password])
        let bob = try await run.client()
        _ = try await bob.ok("signup", ["username": "bob", "password": password])
        let bobLogin = try await bob.ok("login", ["username": "bob", "password": password])
        let bobAccount = try #require(try await bob.ok("open_account")["account"]?["id"])
        var challenges: [String] = []
        for _ in 0..<2 {
            let held = try await alice.request("transfer", ["from": account, "to": bobAccount, "amount": "1000.00"])
            challenges.append(try #require(held["error"]?["challenge"]?.stringValue))
        }
        return Setup(alice: try #require(live["user"]?["id"]?.stringValue),
                     bob: try #require(bobLogin["user"]?["id"]?.stringValue),
                     liveToken: try #require(live["token"]?.stringValue),
                     expiringToken: try #require(expiring["token"]?.stringValue),
                     oldChallenge: challenges[0], freshChallenge: challenges[1])
    }

    /// With the hub stopped: one session expired, one challenge two days old, alice's attempts 401 and 399
    /// days old, 260 failures of bob and 30 on unknown usernames. Returns the append-only tables' counts.
    static func seedOldRows(_ files: PersistentHub, _ setup: Setup) throws -> [Int] {
        let db = try files.database()
        let now = Clock.nowMilliseconds()
        try db.execute("BEGIN")
        do {
            try db.prepare("UPDATE sessions SET expires_at = ? WHERE token_hash = ?")
                .run(now - 3_600_000, SHA256.hash(Base64URL.decode(setup.expiringToken) ?? []))
            #expect(db.changes == 1)
            try db.prepare("UPDATE otp_challenges SET created_at = ? WHERE id = ?")
                .run(now - 2 * dayMilliseconds, setup.oldChallenge)
            #expect(db.changes == 1)
            let attempt = try db.prepare("""
                INSERT INTO login_attempts(user_id, username, ip, outcome, created_at) VALUES (?, ?, ?, ?, ?)
                """)
            try attempt.run(Int64(setup.alice), "alice", "10.0.0.1", "success", now - 401 * dayMilliseconds)
            try attempt.run(Int64(setup.alice), "alice", "10.0.0.2", "success", now - 399 * dayMilliseconds)
            for index in 0..<260 {
                try attempt.run(Int64(setup.bob), "bob", "10.0.1.\(index % 250)", "bad_password", now - Int64(index) * 1_000)
            }
            for index in 0..<30 {
                try attempt.run(Int64?.none, "mallory\(index)", "10.0.2.1", "unknown_user", now - Int64(index) * 1_000)
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return try immutableCounts(db)
    }

    static func immutableCounts(_ db: any SQLDatabase) throws -> [Int] {
        try ["transactions", "postings", "events", "audit_log"].map { try count(db, $0) }
    }

    static func count(_ db: any SQLDatabase, _ tableAndCondition: String) throws -> Int {
        Int(try db.prepare("SELECT COUNT(*) FROM " + tableAndCondition).queryOne { $0.int64(0) } ?? -1)
    }

    static func strings(_ db: any SQLDatabase, _ sql: String) throws -> Set<String> {
        Set(try db.prepare(sql).query { $0.string(0) })
    }

    static func tokenHashHex(_ token: String) -> String {
        SHA256.hash(Base64URL.decode(token) ?? []).map { String(format: "%02X", $0) }.joined()
    }
}
