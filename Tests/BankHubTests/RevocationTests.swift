import BankCrypto
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// Rights end with their grant: a demotion, a logout, a password change and an expired session end the
/// subscriptions they no longer allow, at once and on every connection, and the client is told.
@Suite(.serialized) struct RevocationTests {
    /// The `unsubscribed` events that come next on `client`, as stream → reason.
    private func unsubscribed(_ count: Int, on client: HubClient) async throws -> [String: String] {
        var ended: [String: String] = [:]
        for event in try await client.events(count) {
            #expect(event["event"] == "unsubscribed", "\(JSONWriter.string(event))")
            #expect(event["data"]?["stream"] == event["stream"])
            ended[event["stream"]?.stringValue ?? ""] = event["data"]?["reason"]?.stringValue
        }
        return ended
    }

    /// An admin demoted to employee loses `admin:threats` and other users' streams at once (told with
    /// `unsubscribed`, reason `role_changed`) and keeps `staff:requests` and their own stream.
    @Test func demotionEndsTheStreamsTheNewRoleMayNotFollow() async throws {
        try await TestHub.with { hub in
            let adam = try await hub.staff("adam", role: .admin)
            let eve = try await hub.staff("eve", role: .admin)
            let carol = try await hub.customer("carol")
            for stream in ["admin:threats", "staff:requests", "user:\(carol.userID)", "account:\(carol.account)",
                           "user:\(adam.userID)"] {
                _ = try await adam.client.ok("subscribe", ["stream": .string(stream)])
            }
            _ = try await eve.client.ok("set_role", ["user": .string(adam.userID), "role": "employee",
                                                     "admin_key": .string(TestHub.adminKey)])
            let ended = try await unsubscribed(3, on: adam.client)
            #expect(ended == ["admin:threats": "role_changed", "user:\(carol.userID)": "role_changed",
                              "account:\(carol.account)": "role_changed"])
            let attacker = try await hub.client()
            for _ in 0..<3 { _ = try await attacker.errorCode("login", ["username": "carol", "password": "wrong password"]) }
            for note in ["first", "second"] {
                _ = try await carol.client.ok("request_create", ["kind": "kyc_update", "note": .string(note)])
            }
            let next = try await adam.client.events(2)
            #expect(next.map { $0["event"] } == ["request", "request"])
            #expect(next.map { $0["stream"] } == ["staff:requests", "staff:requests"])
            #expect(try await adam.client.errorCode("subscribe", ["stream": "admin:threats"]) == "forbidden")
        }
    }

    /// `logout` ends the subscriptions of every connection on that token (`logout`); a password change ends
    /// those of the user's other sessions (`password_changed`); the session that stays keeps its own.
    @Test func logoutAndPasswordChangeEndSubscriptionsEverywhere() async throws {
        try await TestHub.with { hub in
            let carol = try await hub.customer("carol")
            let stream: JSONValue = .string("account:\(carol.account)")
            let sameToken = try await hub.client()
            _ = try await sameToken.ok("auth", ["token": .string(carol.token)])
            let other = try await hub.client()
            _ = try await other.ok("login", ["username": "carol", "password": "correct horse battery"])
            let keeper = try await hub.client()
            _ = try await keeper.ok("login", ["username": "carol", "password": "correct horse battery"])
            for client in [sameToken, other, keeper] { _ = try await client.ok("subscribe", ["stream": stream]) }
            _ = try await carol.client.ok("logout")
            #expect(try await unsubscribed(1, on: sameToken) == ["account:\(carol.account)": "logout"])
            _ = try await keeper.ok("change_password", ["old": "correct horse battery", "new": "a new passphrase"])
            #expect(try await unsubscribed(1, on: other) == ["account:\(carol.account)": "password_changed"])
            _ = try await keeper.ok("deposit", ["account": .string(carol.account), "amount": "1.00"])
            #expect(try await keeper.nextEvent(kind: "balance")["stream"] == stream)
        }
    }

    /// A session that expires ends on its own, without a request: its subscriptions end (`session_expired`)
    /// and the connection is anonymous.
    @Test func expiredSessionEndsItsSubscriptionsWithoutARequest() async throws {
        try await TestHub.with(configure: { $0.hub.deadlineCheckMilliseconds = 50 }) { hub in
            let carol = try await hub.customer("carol")
            let raw = try #require(Base64URL.decode(carol.token))
            let writable = try hub.database(write: true)
            try writable.prepare("UPDATE sessions SET expires_at = ? WHERE token_hash = ?")
                .run(Clock.nowMilliseconds() + 1_000, SHA256.hash(raw))
            let client = try await hub.client()
            _ = try await client.ok("auth", ["token": .string(carol.token)])
            _ = try await client.ok("subscribe", ["stream": .string("account:\(carol.account)")])
            #expect(try await unsubscribed(1, on: client) == ["account:\(carol.account)": "session_expired"])
            #expect(try await client.errorCode("accounts") == "unauthorized")
        }
    }
}
