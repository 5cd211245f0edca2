import BankStorage
import BankStore
import BankWire
import Testing

/// `login` refuses a username no sign-up could have made before it looks anything up: nothing is stored in
/// the login history and no failure is counted.
@Suite(.serialized) struct LoginUsernameTests {
    /// 21 logins with a 33-character username are `bad_request` on `username`, add no login_attempts row and
    /// count no failure: the address is not blocked afterwards (20 failures would block it).
    @Test func refusesOverlongUsernamesWithoutRecordingThem() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let db = try hub.database()
            let attempts = { try db.prepare("SELECT COUNT(*) FROM login_attempts").queryOne { $0.int64(0) } ?? -1 }
            let before = try attempts()
            let client = try await hub.client()
            let overlong = String(repeating: "a", count: 33)
            for _ in 0..<21 {
                let reply = try await client.request("login", ["username": .string(overlong), "password": "wrong password"])
                #expect(reply["error"]?["code"] == "bad_request")
                #expect(reply["error"]?["field"] == "username")
            }
            #expect(try attempts() == before, "an over-long username reached the login history")
            // 32 characters is a name sign-up allows: an ordinary failed login, recorded.
            let longest = String(repeating: "b", count: 32)
            #expect(try await client.errorCode("login", ["username": .string(longest), "password": "wrong password"]) == "unauthorized")
            #expect(try attempts() == before + 1)
            _ = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
            _ = alice
        }
    }
}
