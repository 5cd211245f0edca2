import BankWire
import Testing

/// The bank's own accounts (the cash account "1" and every savings-goal account) are out of reach: no
/// customer op addresses them as accounts. Each answers `not_found`, exactly as for another customer's account,
/// and nothing moves.
@Suite(.serialized) struct InternalAccountTests {
    /// The ops that name an account, each with `account` standing for the id tried. All must be `not_found`.
    static func accountOps(_ account: JSONValue, own: String, requestKind: JSONValue = "kyc_update") -> [(String, JSONValue)] {
        let mine: JSONValue = .string(own)
        return [
            ("transfer", ["from": mine, "to": account, "amount": "1.00"]),
            ("transfer", ["from": account, "to": mine, "amount": "1.00"]),
            ("deposit", ["account": account, "amount": "1.00"]),
            ("withdraw", ["account": account, "amount": "1.00"]),
            ("history", ["account": account]),
            ("balance_at", ["account": account, "at": "2030-01-01T00:00:00Z"]),
            ("subscribe", ["stream": .string("account:\(account.stringValue ?? "")")]),
            ("payee_add", ["account": account, "nickname": "the bank"]),
            ("goal_create", ["account": account, "name": "x", "target": "10.00"]),
            ("request_create", ["kind": requestKind, "note": "x", "account": account]),
        ]
    }

    /// Issue 10: `transfer {to: "1"}` was accepted. Now every op naming the cash account is `not_found`, for a
    /// customer and (where admins may read any customer account) for an admin; no money moves.
    @Test func cashAccountIsOutOfReach() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            for (op, args) in Self.accountOps("1", own: alice.account) {
                #expect(try await alice.client.errorCode(op, args) == "not_found", "\(op) \(JSONWriter.string(args))")
            }
            let admin = try await hub.staff("adam", role: .admin)
            for (op, args) in [("history", ["account": "1"]), ("balance_at", ["account": "1", "at": "2030-01-01T00:00:00Z"]),
                               ("subscribe", ["stream": "account:1"])] as [(String, JSONValue)] {
                #expect(try await admin.client.errorCode(op, args) == "not_found", "admin \(op)")
            }
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "100.00")
            #expect(try await alice.client.ok("history", ["account": .string(alice.account)])["entries"]?.arrayValue?.count == 1)
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// A savings goal's account is internal too: its owner, another customer and an admin get `not_found` for
    /// every account op on it, and another customer's goal ops on it are `not_found`. Its money stays put.
    @Test func goalAccountsAreOutOfReach() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let bob = try await hub.customer("bob", deposit: "100.00")
            let goal = try #require(try await alice.client.ok("goal_create", [
                "account": .string(alice.account), "name": "Bike", "target": "500.00"])["goal"]?["id"])
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "40.00"])
            for (op, args) in Self.accountOps(goal, own: alice.account) {
                #expect(try await alice.client.errorCode(op, args) == "not_found", "alice \(op) \(JSONWriter.string(args))")
            }
            for (op, args) in Self.accountOps(goal, own: bob.account) {
                #expect(try await bob.client.errorCode(op, args) == "not_found", "bob \(op) \(JSONWriter.string(args))")
            }
            for (op, args) in [("goal_fund", ["goal": goal, "amount": "1.00"]), ("goal_withdraw", ["goal": goal, "amount": "1.00"]),
                               ("goal_delete", ["goal": goal])] as [(String, JSONValue)] {
                #expect(try await bob.client.errorCode(op, args) == "not_found", "bob \(op)")
            }
            let admin = try await hub.staff("adam", role: .admin)
            let step: JSONValue = .string(TestHub.adminKey)
            for (op, args) in [("history", ["account": goal]), ("subscribe", ["stream": .string("account:\(goal.stringValue ?? "")")]),
                               ("lock_account", ["account": goal, "admin_key": step])] as [(String, JSONValue)] {
                #expect(try await admin.client.errorCode(op, args) == "not_found", "admin \(op)")
            }
            #expect(try await alice.client.ok("goals")["goals"]?.arrayValue?.first?["saved"] == "40.00")
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.map { $0["balance"] } == ["60.00"])
            #expect(try await bob.client.ok("accounts")["accounts"]?.arrayValue?.map { $0["balance"] } == ["100.00"])
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }
}
