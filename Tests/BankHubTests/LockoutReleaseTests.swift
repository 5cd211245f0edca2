import BankCore
import BankHub
import BankWire
import Testing

/// `--lockout-release`: by default a lock after too many failed logins ends with the cool-down; with
/// `admin` it lasts until an admin unlocks the user, however long that takes.
@Suite(.serialized) struct LockoutReleaseTests {
    /// Five wrong passwords for carol, then her right one: the answer to that login.
    static func loginAfterLockout(_ hub: TestHub) async throws -> (HubClient, JSONValue) {
        _ = try await hub.customer("carol")
        let attacker = try await hub.client()
        for _ in 0..<5 {
            #expect(try await attacker.errorCode("login", ["username": "carol", "password": "wrong password"]) == "unauthorized")
        }
        return (attacker, try await attacker.request("login", ["username": "carol", "password": "correct horse battery"]))
    }

    /// With `admin`, a lock whose cool-down (0 minutes here) has long passed still holds until `unlock_user`.
    @Test func adminReleaseHoldsUntilUnlocked() async throws {
        try await TestHub.with(configure: { options in
            options.hub.security.lockoutMinutes = 0
            options.hub.security.lockoutRelease = .admin
        }) { hub in
            let (attacker, answer) = try await Self.loginAfterLockout(hub)
            #expect(answer["error"]?["code"] == "account_locked")
            let admin = try await hub.staff("adam", role: .admin)
            let users = try await admin.client.ok("users", ["query": "carol"])["users"]?.arrayValue ?? []
            let carol = try #require(users.first?["id"])
            #expect(users.first?["status"] == "locked")
            _ = try await admin.client.ok("unlock_user", ["user": carol, "admin_key": .string(TestHub.adminKey)])
            _ = try await attacker.ok("login", ["username": "carol", "password": "correct horse battery"])
        }
    }

    /// By default the cool-down ends the lock by itself (0 minutes: at once).
    @Test func coolDownReleasesByDefault() async throws {
        try await TestHub.with(configure: { $0.hub.security.lockoutMinutes = 0 }) { hub in
            let (_, answer) = try await Self.loginAfterLockout(hub)
            #expect(answer["ok"] == true, "\(JSONWriter.string(answer))")
        }
    }
}
