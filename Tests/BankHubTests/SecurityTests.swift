import BankCore
import BankWire
import Testing
import WebSocketClient

/// Brute-force defence, locks, rate limits, the live threat feed and login history, against the real hub.
@Suite(.serialized) struct SecurityTests {
    /// Five wrong passwords lock the user: the right password then gets `account_locked`, the user's open
    /// connection is closed with 1008, and an admin sees brute_force and account_locked threats live.
    @Test func locksAfterFiveFailuresAndAlertsAdmins() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            _ = try await admin.client.ok("subscribe", ["stream": "admin:threats"])
            let victim = try await hub.customer("carol")
            let attacker = try await hub.client()
            for _ in 0..<5 {
                #expect(try await attacker.errorCode("login", ["username": "carol", "password": "wrong password"]) == "unauthorized")
            }
            #expect(try await attacker.errorCode("login", ["username": "carol", "password": "correct horse battery"]) == "account_locked")
            #expect(try await victim.client.receiveRaw() == .close(code: 1008, reason: "user locked"))
            var kinds: [String] = []
            while !kinds.contains("account_locked") {
                let event = try await admin.client.nextEvent()
                #expect(event["event"] == "threat")
                #expect(event["stream"] == "admin:threats")
                kinds.append(event["data"]?["kind"]?.stringValue ?? "")
            }
            #expect(kinds.contains("brute_force"))
            let lockedAction = try await admin.client.nextEvent()
            #expect(lockedAction["data"]?["kind"] == "locked_action")
            _ = try await admin.client.ok("unlock_user", ["user": .string(victim.userID), "admin_key": .string(TestHub.adminKey)])
            _ = try await attacker.ok("login", ["username": "carol", "password": "correct horse battery"])
        }
    }

    /// The login history records each attempt with address, user agent and outcome; a customer sees only
    /// their own, an admin anyone's, and login_stats counts successes per month.
    @Test func recordsLoginHistory() async throws {
        try await TestHub.with { hub in
            let carol = try await hub.customer("carol")
            _ = try await carol.client.errorCode("login", ["username": "carol", "password": "wrong password"])
            _ = try await carol.client.ok("login", ["username": "carol", "password": "correct horse battery"])
            let history = try await carol.client.ok("login_history")["attempts"]?.arrayValue ?? []
            #expect(history.map { $0["outcome"]?.stringValue } == ["success", "bad_password", "success"])
            #expect(history.first?["ip"] == "127.0.0.1")
            let admin = try await hub.staff("adam", role: .admin)
            #expect(try await carol.client.errorCode("login_history", ["user": .string(admin.userID)]) == "forbidden")
            let seen = try await admin.client.ok("login_history", ["user": .string(carol.userID)])
            #expect(seen["attempts"]?.arrayValue?.count == 3)
            let stats = try await admin.client.ok("login_stats")["months"]?.arrayValue ?? []
            #expect(stats.first { $0["username"] == "carol" }?["logins"] == 2)
        }
    }

    /// Past the per-connection bucket, requests get `rate_limited` with `retry_after`; with rate limits off
    /// the same burst passes.
    @Test func rateLimitsAConnection() async throws {
        try await TestHub.with(configure: {
            // A token every 20 s: none comes back during the burst, however slowly the machine runs it.
            $0.hub.security.connectionRate = .init(ratePerSecond: 0.05, capacity: 5)
        }) { hub in
            let client = try await hub.client()
            var codes: [String?] = []
            for _ in 0..<8 { codes.append(try await client.request("accounts")["error"]?["code"]?.stringValue) }
            #expect(codes.prefix(5).allSatisfy { $0 == "unauthorized" })
            #expect(codes.suffix(3).allSatisfy { $0 == "rate_limited" })
            let reply = try await client.request("accounts")
            #expect((reply["error"]?["retry_after"]?.int64Value ?? 0) >= 1)
        }
        try await TestHub.with(configure: {
            // A token every 20 s: none comes back during the burst, however slowly the machine runs it.
            $0.hub.security.connectionRate = .init(ratePerSecond: 0.05, capacity: 5)
            $0.hub.security.rateLimitsEnabled = false
        }) { hub in
            let client = try await hub.client()
            for _ in 0..<8 { #expect(try await client.errorCode("accounts") == "unauthorized") }
        }
    }

    /// Sign-ups and logins from one address are limited separately (and more strictly).
    @Test func limitsSignInsPerAddress() async throws {
        try await TestHub.with(configure: { $0.hub.security.authRate = .perMinute(3, burst: 3) }) { hub in
            let client = try await hub.client()
            for index in 0..<3 {
                _ = try await client.ok("signup", ["username": .string("user\(index)"), "password": "correct horse battery"])
            }
            #expect(try await client.errorCode("signup", ["username": "user9", "password": "correct horse battery"]) == "rate_limited")
        }
    }

    /// An admin locks an account: moving money on it is `account_locked` and a locked_action threat follows;
    /// unlocking restores it. Every admin change is in the audit log.
    @Test func locksAccountsAndAudits() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            let carol = try await hub.customer("carol")
            let key: JSONValue = .string(TestHub.adminKey)
            _ = try await admin.client.ok("subscribe", ["stream": "admin:threats"])
            let locked = try await admin.client.ok("lock_account", ["account": .string(carol.account), "admin_key": key])
            #expect(locked["account"]?["status"] == "locked")
            #expect(try await carol.client.errorCode("withdraw", ["account": .string(carol.account), "amount": "1"]) == "account_locked")
            #expect(try await admin.client.nextEvent()["data"]?["kind"] == "locked_action")
            _ = try await admin.client.ok("unlock_account", ["account": .string(carol.account), "admin_key": key])
            _ = try await carol.client.ok("withdraw", ["account": .string(carol.account), "amount": "1"])
            let threats = try await admin.client.ok("threats")["threats"]?.arrayValue ?? []
            let first = try #require(threats.first?["id"])
            let acked = try await admin.client.ok("ack_threat", ["id": first, "admin_key": key])
            #expect(acked["threat"]?["acked_by"] == .string(admin.userID))
            let promoted = try await admin.client.ok("set_role", ["user": .string(carol.userID), "role": "employee", "admin_key": key])
            #expect(promoted["user"]?["role"] == "employee")
            #expect(try await carol.client.code(afterRevocation: "customers", expected: nil) == nil)
        }
    }
}
