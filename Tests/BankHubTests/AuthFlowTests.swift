import BankWire
import Testing

/// Sign-up, login, token sessions and who may see what, over real WebSockets.
@Suite(.serialized) struct AuthFlowTests {
    /// A new customer signs up, logs in and gets a token; the same username again is `conflict`.
    @Test func signsUpAndLogsIn() async throws {
        try await TestHub.with { hub in
            let client = try await hub.client()
            let user = try await client.ok("signup", ["username": "Alice", "password": "correct horse battery",
                                                      "email": "alice@example.com", "full_name": "Alice L"])
            #expect(user["user"]?["username"]?.stringValue == "alice")
            #expect(user["user"]?["role"]?.stringValue == "customer")
            #expect(try await client.errorCode("signup", ["username": "alice", "password": "another password"]) == "conflict")
            let login = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
            #expect(login["token"]?.stringValue?.count == 43)
            #expect(login["expires_at"]?.stringValue != nil)
        }
    }

    /// A wrong password and an unknown user get the same `unauthorized`; ops need a login.
    @Test func refusesBadCredentialsAlike() async throws {
        try await TestHub.with { hub in
            let client = try await hub.client()
            _ = try await client.ok("signup", ["username": "bob", "password": "correct horse battery"])
            let wrong = try await client.request("login", ["username": "bob", "password": "wrong password!"])
            let unknown = try await client.request("login", ["username": "nobody", "password": "wrong password!"])
            #expect(wrong["error"]?["code"]?.stringValue == "unauthorized")
            #expect(wrong["error"] == unknown["error"])
            #expect(try await client.errorCode("accounts") == "unauthorized")
            #expect(try await client.errorCode("open_account") == "unauthorized")
        }
    }

    /// Sign-up input is checked field by field with `bad_request` naming the field.
    @Test func validatesSignUpFields() async throws {
        try await TestHub.with { hub in
            let client = try await hub.client()
            let cases: [(JSONValue, String)] = [
                (["username": "ab", "password": "correct horse"], "username"),
                (["username": "has space", "password": "correct horse"], "username"),
                (["username": "carol", "password": "short"], "password"),
                (["username": "carol", "password": "correct horse", "email": "not-an-email"], "email"),
                (["username": "carol", "password": "correct horse", "phone": "12"], "phone"),
                (["username": "carol", "password": 12345678], "password"),
            ]
            for (args, field) in cases {
                let reply = try await client.request("signup", args)
                #expect(reply["error"]?["code"]?.stringValue == "bad_request")
                #expect(reply["error"]?["field"]?.stringValue == field)
            }
        }
    }

    /// A token from `login` resumes the session on a new connection; after `logout` it no longer works,
    /// and connections that used it drop back to anonymous.
    @Test func resumesWithTokenUntilLogout() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let second = try await hub.client()
            let resumed = try await second.ok("auth", ["token": .string(alice.token)])
            #expect(resumed["user"]?["username"]?.stringValue == "alice")
            #expect(try await second.ok("accounts")["accounts"]?.arrayValue?.count == 1)
            _ = try await alice.client.ok("logout")
            #expect(try await second.code(afterRevocation: "accounts", expected: "unauthorized") == "unauthorized")
            let third = try await hub.client()
            #expect(try await third.errorCode("auth", ["token": .string(alice.token)]) == "unauthorized")
            #expect(try await third.errorCode("auth", ["token": "not-a-token"]) == "unauthorized")
        }
    }

    /// Another customer's account is `not_found` for every read, move and subscription.
    @Test func hidesOtherCustomersAccounts() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let theirs: JSONValue = .string(alice.account)
            #expect(try await bob.client.errorCode("history", ["account": theirs]) == "not_found")
            #expect(try await bob.client.errorCode("balance_at", ["account": theirs, "at": "2030-01-01T00:00:00Z"]) == "not_found")
            #expect(try await bob.client.errorCode("withdraw", ["account": theirs, "amount": "1.00"]) == "not_found")
            #expect(try await bob.client.errorCode("deposit", ["account": theirs, "amount": "1.00"]) == "not_found")
            #expect(try await bob.client.errorCode("transfer", ["from": theirs, "to": .string(bob.account), "amount": "1.00"]) == "not_found")
            #expect(try await bob.client.errorCode("subscribe", ["stream": .string("account:\(alice.account)")]) == "not_found")
            #expect(try await bob.client.errorCode("subscribe", ["stream": "admin:threats"]) == "forbidden")
            let balance = try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]
            #expect(balance == "100.00")
        }
    }
}
