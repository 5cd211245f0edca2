import BankWire
import Testing

/// Savings goals over real WebSockets: create, fund, withdraw, delete; their events; their refusals; and money
/// conserved in the stored ledger throughout.
@Suite(.serialized) struct GoalTests {
    /// A second screen of `customer`, following their account and user streams from the start.
    private func screen(_ hub: TestHub, _ customer: Customer) async throws -> HubClient {
        let screen = try await hub.client()
        _ = try await screen.ok("auth", ["token": .string(customer.token)])
        _ = try await screen.ok("subscribe", ["stream": .string("account:\(customer.account)")])
        _ = try await screen.ok("subscribe", ["stream": .string("user:\(customer.userID)")])
        return screen
    }

    /// The whole life of a goal: each step answers with the goal and the account's balance, pushes the
    /// account's `balance` event and the `goal` event, shows in the account's history with the goal as
    /// counterparty; deleting returns what was saved in the same commit. A replay of the account stream
    /// derives the same events as were pushed live.
    @Test func createsFundsWithdrawsAndDeletesAGoal() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let screen = try await screen(hub, alice)
            let created = try await alice.client.ok("goal_create", ["account": .string(alice.account), "name": "Bike",
                                                                    "target": "500", "target_date": "2027-06-30"])
            let goal = try #require(created["goal"])
            let goalID = try #require(goal["id"])
            #expect(goal["account"] == .string(alice.account))
            #expect(goal["name"] == "Bike")
            #expect(goal["target"] == "500.00")
            #expect(goal["saved"] == "0.00")
            #expect(goal["target_date"] == "2027-06-30")
            let createdEvent = try await screen.nextEvent()
            #expect(createdEvent["event"] == "goal")
            #expect(createdEvent["data"]?["action"] == "created")
            #expect(createdEvent["data"]?["goal"] == goal)

            let funded = try await alice.client.ok("goal_fund", ["goal": goalID, "amount": "30.00"])
            #expect(funded["balance"] == "70.00")
            #expect(funded["goal"]?["saved"] == "30.00")
            #expect(funded["txn"]?["kind"] == "goal_fund")
            #expect(funded["txn"]?["from"] == .string(alice.account))
            #expect(funded["txn"]?["to"] == goalID)
            let streams = ["account:\(alice.account)", "user:\(alice.userID)"]
            let fundEvents = try await screen.events(2, ofOneCommitOn: streams)
            #expect(fundEvents.map { $0["event"]?.stringValue } == ["balance", "goal"])
            #expect(fundEvents[0]["data"]?["balance"] == "70.00")
            #expect(fundEvents[1]["data"]?["action"] == "funded")
            #expect(fundEvents[1]["data"]?["goal"]?["saved"] == "30.00")

            let withdrawn = try await alice.client.ok("goal_withdraw", ["goal": goalID, "amount": "5.00"])
            #expect(withdrawn["balance"] == "75.00")
            #expect(withdrawn["goal"]?["saved"] == "25.00")
            #expect(try await screen.events(2, ofOneCommitOn: streams).map { $0["data"]?["action"]?.stringValue ?? $0["data"]?["balance"]?.stringValue }
                    == ["75.00", "withdrawn"])
            let listed = try await alice.client.ok("goals")["goals"]?.arrayValue ?? []
            #expect(listed.map { $0["saved"] } == ["25.00"])
            let history = try await alice.client.ok("history", ["account": .string(alice.account)])["entries"]?.arrayValue ?? []
            #expect(history.prefix(2).map { $0["kind"]?.stringValue } == ["goal_withdraw", "goal_fund"])
            #expect(history.prefix(2).map { $0["amount"]?.stringValue } == ["5.00", "-30.00"])
            #expect(history.prefix(2).allSatisfy { $0["counterparty"] == goalID })

            let deleted = try await alice.client.ok("goal_delete", ["goal": goalID])
            #expect(deleted["goal"]?["saved"] == "0.00")
            #expect(deleted["txn"]?["kind"] == "goal_withdraw")
            #expect(deleted["txn"]?["amount"] == "25.00")
            #expect(deleted["balance"] == "100.00")
            let deleteEvents = try await screen.events(2, ofOneCommitOn: streams)
            #expect(deleteEvents[0]["data"]?["balance"] == "100.00")
            #expect(deleteEvents[1]["data"]?["action"] == "deleted")
            #expect(try await alice.client.ok("goals")["goals"]?.arrayValue?.isEmpty == true)
            #expect(try await alice.client.errorCode("goal_fund", ["goal": goalID, "amount": "1.00"]) == "not_found")
            #expect(try await alice.client.errorCode("goal_delete", ["goal": goalID]) == "not_found")

            // The account stream's goal events are derived from postings on replay: the same bytes as live.
            let live = fundEvents.prefix(1) + deleteEvents.prefix(1)
            let replay = try await hub.client()
            _ = try await replay.ok("auth", ["token": .string(alice.token)])
            _ = try await replay.ok("subscribe", ["stream": .string("account:\(alice.account)"), "since": 0])
            let replayed = try await replay.events(4)
            #expect(replayed.map { $0["event"]?.stringValue } == ["balance", "balance", "balance", "balance"])
            #expect(replayed[1] == live.first && replayed[3] == live.last)
            _ = try await replay.ok("subscribe", ["stream": .string("user:\(alice.userID)"), "since": 0])
            #expect(try await replay.events(4).map { $0["data"]?["action"]?.stringValue } == ["created", "funded", "withdrawn", "deleted"])
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// Missing or malformed arguments, amounts the account or the goal does not hold, and someone else's goal
    /// are refused with their codes; nothing moves.
    @Test func refusesBadGoalRequests() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let bob = try await hub.customer("bob", deposit: "100.00")
            let account: JSONValue = .string(alice.account)
            let refusals: [(JSONValue, String, String)] = [
                (["name": "Bike", "target": "500.00"], "bad_request", "account"),
                (["account": account, "target": "500.00"], "bad_request", "name"),
                (["account": account, "name": "", "target": "500.00"], "bad_request", "name"),
                (["account": account, "name": .string(String(repeating: "n", count: 65)), "target": "500.00"], "bad_request", "name"),
                (["account": account, "name": "Bike"], "bad_request", "target"),
                (["account": account, "name": "Bike", "target": .number("500")], "invalid_amount", "target"),
                (["account": account, "name": "Bike", "target": "0"], "invalid_amount", "target"),
                (["account": account, "name": "Bike", "target": "500.00", "target_date": "2027-02-30"], "bad_request", "target_date"),
            ]
            for (args, code, field) in refusals {
                let reply = try await alice.client.request("goal_create", args)
                #expect(reply["error"]?["code"] == .string(code), "\(JSONWriter.string(args))")
                #expect(reply["error"]?["field"] == .string(field), "\(JSONWriter.string(args))")
            }
            #expect(try await alice.client.errorCode("goal_create", ["account": .string(bob.account), "name": "x",
                                                                     "target": "1.00"]) == "not_found")
            let goal = try #require(try await alice.client.ok("goal_create", ["account": account, "name": "Bike",
                                                                              "target": "500.00"])["goal"]?["id"])
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "10.00"])
            #expect(try await alice.client.errorCode("goal_fund", ["goal": goal, "amount": "90.01"]) == "insufficient_funds")
            #expect(try await alice.client.errorCode("goal_withdraw", ["goal": goal, "amount": "10.01"]) == "insufficient_funds")
            #expect(try await alice.client.errorCode("goal_fund", ["goal": goal, "amount": .number("1")]) == "invalid_amount")
            #expect(try await alice.client.errorCode("goal_fund", ["goal": goal]) == "bad_request")
            #expect(try await alice.client.errorCode("goal_fund", ["amount": "1.00"]) == "bad_request")
            #expect(try await alice.client.errorCode("goal_fund", ["goal": "999999", "amount": "1.00"]) == "not_found")
            #expect(try await alice.client.errorCode("goal_delete", [:]) == "bad_request")
            #expect(try await alice.client.ok("goals")["goals"]?.arrayValue?.map { $0["saved"] } == ["10.00"])
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.map { $0["balance"] } == ["90.00"])
            #expect(try await bob.client.ok("goals")["goals"]?.arrayValue?.isEmpty == true)
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// Goal movements take idempotency keys like transfers: a retry replays with the goal as it was, a
    /// changed retry is `conflict` naming the field, and a key used for another op is `conflict` on `op`.
    @Test func goalMovesAreIdempotent() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let goal = try #require(try await alice.client.ok("goal_create", [
                "account": .string(alice.account), "name": "Bike", "target": "500.00"])["goal"]?["id"])
            let args: JSONValue = ["goal": goal, "amount": "20.00", "idempotency_key": "save-1"]
            let first = try await alice.client.ok("goal_fund", args)
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "1.00"])
            let again = try await alice.client.ok("goal_fund", args)
            #expect(again["replayed"] == true)
            #expect(again["txn"]?["id"] == first["txn"]?["id"])
            #expect(again["goal"]?["saved"] == "20.00")
            #expect(again["balance"] == "80.00")
            let changed = try await alice.client.request("goal_fund", ["goal": goal, "amount": "21.00", "idempotency_key": "save-1"])
            #expect(changed["error"]?["code"] == "conflict")
            #expect(changed["error"]?["field"] == "amount")
            let otherOp = try await alice.client.request("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                      "amount": "20.00", "idempotency_key": "save-1"])
            #expect(otherOp["error"]?["field"] == "op")
            #expect(try await alice.client.ok("goals")["goals"]?.arrayValue?.map { $0["saved"] } == ["21.00"])
        }
    }

    /// A locked account: no goal opens on it and no goal of it moves money or is deleted (`account_locked`);
    /// an account with goals cannot be closed (`conflict`); at most 20 goals at once.
    @Test func guardsLockedAccountsClosuresAndTheLimit() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let admin = try await hub.staff("adam", role: .admin)
            let account: JSONValue = .string(alice.account)
            let goal = try #require(try await alice.client.ok("goal_create", ["account": account, "name": "Bike",
                                                                              "target": "500.00"])["goal"]?["id"])
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "10.00"])
            _ = try await admin.client.ok("lock_account", ["account": account, "admin_key": .string(TestHub.adminKey)])
            #expect(try await alice.client.errorCode("goal_create", ["account": account, "name": "Car", "target": "1.00"]) == "account_locked")
            #expect(try await alice.client.errorCode("goal_fund", ["goal": goal, "amount": "1.00"]) == "account_locked")
            #expect(try await alice.client.errorCode("goal_withdraw", ["goal": goal, "amount": "1.00"]) == "account_locked")
            #expect(try await alice.client.errorCode("goal_delete", ["goal": goal]) == "account_locked")
            #expect(try await alice.client.ok("goals")["goals"]?.arrayValue?.map { $0["saved"] } == ["10.00"])
            _ = try await admin.client.ok("unlock_account", ["account": account, "admin_key": .string(TestHub.adminKey)])

            _ = try await alice.client.ok("goal_withdraw", ["goal": goal, "amount": "10.00"])
            _ = try await alice.client.ok("withdraw", ["account": account, "amount": "100.00"])
            let closure = try await alice.client.serviceRequest("request_create", ["kind": "account_closure", "note": "bye",
                                                                                   "account": account])
            let employee = try await hub.staff("erin", role: .employee)
            #expect(try await employee.client.errorCode("request_approve", ["id": try #require(closure["id"])]) == "conflict")

            for index in 1..<20 {
                _ = try await alice.client.ok("goal_create", ["account": account, "name": .string("g\(index)"), "target": "1.00"])
            }
            #expect(try await alice.client.errorCode("goal_create", ["account": account, "name": "one more", "target": "1.00"]) == "conflict")
            _ = try await alice.client.ok("goal_delete", ["goal": goal])
            _ = try await alice.client.ok("goal_create", ["account": account, "name": "one more", "target": "1.00"])
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// Goals survive a restart: the hub reloads them (and their names for events), the start-up ledger check
    /// passes with goal money in it, and the goal moves on.
    @Test func goalsSurviveARestart() async throws {
        let files = PersistentHub()
        defer { files.remove() }
        let (token, goal) = try await files.run { run in
            let alice = try await run.client()
            let signup = try await alice.ok("signup", ["username": "alice", "password": "correct horse battery"])
            let login = try await alice.ok("login", ["username": "alice", "password": "correct horse battery"])
            let account = try #require(signup["account"]?["id"])
            _ = try await alice.ok("deposit", ["account": account, "amount": "50.00"])
            let goal = try #require(try await alice.ok("goal_create", ["account": account, "name": "Trip",
                                                                       "target": "900.00"])["goal"]?["id"])
            _ = try await alice.ok("goal_fund", ["goal": goal, "amount": "12.50", "idempotency_key": "trip-1"])
            return (try #require(login["token"]), goal)
        }
        try await files.run { run in
            let alice = try await run.client()
            _ = try await alice.ok("auth", ["token": token])
            let retry = try await alice.ok("goal_fund", ["goal": goal, "amount": "12.50", "idempotency_key": "trip-1"])
            #expect(retry["replayed"] == true)
            #expect(retry["goal"]?["name"] == "Trip")
            let funded = try await alice.ok("goal_fund", ["goal": goal, "amount": "2.50"])
            #expect(funded["goal"]?["saved"] == "15.00")
            #expect(funded["goal"]?["name"] == "Trip")
        }
    }
}
