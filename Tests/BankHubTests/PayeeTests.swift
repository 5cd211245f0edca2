import BankWire
import Testing

/// Saved payees over real WebSockets: add, rename, remove, list; the `payee` events; the refusals.
@Suite(.serialized) struct PayeeTests {
    /// Each change answers with the payee and pushes a `payee` event on every screen of the user; the list
    /// shows the payees oldest first; a removed payee is gone.
    @Test func addsRenamesAndRemovesPayees() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let carol = try await hub.customer("carol")
            let screen = try await hub.client()
            _ = try await screen.ok("auth", ["token": .string(alice.token)])
            _ = try await screen.ok("subscribe", ["stream": .string("user:\(alice.userID)")])
            let added = try #require(try await alice.client.ok("payee_add", ["account": .string(bob.account),
                                                                             "nickname": "Bob (rent)"])["payee"])
            #expect(added["account"] == .string(bob.account))
            #expect(added["nickname"] == "Bob (rent)")
            #expect(added["created_at"]?.stringValue != nil)
            let event = try await screen.nextEvent()
            #expect(event["event"] == "payee")
            #expect(event["data"] == ["action": "added", "payee": added])
            let second = try #require(try await alice.client.ok("payee_add", ["account": .string(carol.account),
                                                                              "nickname": "Carol"])["payee"])
            #expect(second["id"] != added["id"])
            let id = try #require(added["id"])
            let renamed = try #require(try await alice.client.ok("payee_update", ["id": id, "nickname": "Bob"])["payee"])
            #expect(renamed["nickname"] == "Bob")
            #expect(renamed["created_at"] == added["created_at"])
            let listed = try await alice.client.ok("payees")["payees"]?.arrayValue ?? []
            #expect(listed == [renamed, second])
            let removed = try await alice.client.ok("payee_remove", ["id": id])
            #expect(removed["payee"] == renamed)
            let events = try await screen.events(3)
            #expect(events.map { $0["data"]?["action"]?.stringValue } == ["added", "updated", "removed"])
            #expect(try await alice.client.ok("payees")["payees"]?.arrayValue == [second])
            #expect(try await bob.client.ok("payees")["payees"]?.arrayValue?.isEmpty == true)
            // Bob's account can be added again once removed.
            _ = try await alice.client.ok("payee_add", ["account": .string(bob.account), "nickname": "Bob again"])
        }
    }

    /// The caller's own account, an unknown or closed account and internal accounts are `not_found`; the same
    /// account twice is `conflict`; a bad nickname is `bad_request`; someone else's payee is `not_found`.
    @Test func refusesBadPayees() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let employee = try await hub.staff("erin", role: .employee)
            let closure = try await bob.client.serviceRequest("request_create", ["kind": "account_closure", "note": "bye",
                                                                                 "account": .string(bob.account)])
            _ = try await employee.client.ok("request_approve", ["id": try #require(closure["id"])])
            let dave = try await hub.customer("dave")
            for account in [alice.account, "999999", "1", bob.account] {
                #expect(try await alice.client.errorCode("payee_add", ["account": .string(account), "nickname": "x"]) == "not_found",
                        "account \(account)")
            }
            let args: JSONValue = ["account": .string(dave.account), "nickname": "Dave"]
            let payee = try #require(try await alice.client.ok("payee_add", args)["payee"]?["id"])
            let twice = try await alice.client.request("payee_add", ["account": .string(dave.account), "nickname": "Other"])
            #expect(twice["error"]?["code"] == "conflict")
            #expect(twice["error"]?["field"] == "account")
            for nickname: JSONValue in ["", .string(String(repeating: "n", count: 65)), "tab\there", .number("7")] {
                let reply = try await alice.client.request("payee_add", ["account": .string(dave.account), "nickname": nickname])
                #expect(reply["error"]?["code"] == "bad_request")
                #expect(reply["error"]?["field"] == "nickname")
            }
            #expect(try await alice.client.errorCode("payee_add", ["nickname": "x"]) == "bad_request")
            #expect(try await dave.client.errorCode("payee_update", ["id": payee, "nickname": "mine"]) == "not_found")
            #expect(try await dave.client.errorCode("payee_remove", ["id": payee]) == "not_found")
            #expect(try await alice.client.errorCode("payee_remove", ["id": "999999"]) == "not_found")
            #expect(try await alice.client.ok("payees")["payees"]?.arrayValue?.map { $0["nickname"] } == ["Dave"])
        }
    }

    /// At most 200 payees per user, checked exactly even when the adds are pipelined: the 201st is `conflict`.
    @Test func limitsPayeesPerUser() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            // Accounts to pay: bob may hold 20; more customers for the rest.
            var accounts = [bob.account]
            for _ in 1..<20 { accounts.append(try #require(try await bob.client.ok("open_account")["account"]?["id"]?.stringValue)) }
            for index in 0..<10 {
                let other = try await hub.customer("payee\(index)", deposit: nil)
                accounts.append(other.account)
                for _ in 1..<20 {
                    accounts.append(try #require(try await other.client.ok("open_account")["account"]?["id"]?.stringValue))
                }
            }
            #expect(accounts.count == 220)
            var asks: [Int] = []
            for (index, account) in accounts.prefix(205).enumerated() {
                asks.append(try await alice.client.send("payee_add", ["account": .string(account), "nickname": .string("p\(index)")]))
            }
            var answers: [JSONValue] = []
            for ask in asks { answers.append(try await alice.client.reply(to: ask)) }
            #expect(answers.filter { $0["ok"] == true }.count == 200)
            #expect(answers.filter { $0["error"]?["code"] == "conflict" }.count == 5)
            #expect(try await alice.client.ok("payees")["payees"]?.arrayValue?.count == 200)
        }
    }
}
