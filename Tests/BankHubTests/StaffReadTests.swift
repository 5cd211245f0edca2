import BankCore
import BankWire
import Testing

/// The staff reads over real WebSockets: customer search, the transaction journal with filters and pages,
/// the admin's user list and audit log, and admin reads of any account.
@Suite(.serialized) struct StaffReadTests {
    /// `customers` matches username, name, e-mail and phone as substrings, takes `%` and `_` literally,
    /// lists only customers, and carries each customer's accounts.
    @Test func searchesCustomers() async throws {
        try await TestHub.with { hub in
            let signup = try await hub.client()
            _ = try await signup.ok("signup", ["username": "carol", "password": "correct horse battery",
                                               "full_name": "Carol Liddell", "email": "carol@example.com",
                                               "phone": "+15551234567"])
            let alice = try await hub.customer("alice", deposit: "12.34")
            _ = try await hub.customer("bob", deposit: nil)
            let erin = try await hub.staff("erin", role: .employee)
            func usernames(_ args: JSONValue) async throws -> [String?] {
                let found = try await erin.client.ok("customers", args)["customers"]?.arrayValue ?? []
                return found.map { $0["username"]?.stringValue }
            }
            #expect(try await usernames([:]) == ["carol", "alice", "bob"])
            #expect(try await usernames(["query": "LIDD"]) == ["carol"])
            #expect(try await usernames(["query": "example.com"]) == ["carol"])
            #expect(try await usernames(["query": "555123"]) == ["carol"])
            #expect(try await usernames(["query": "%"]) == [])
            #expect(try await usernames(["query": "erin"]) == [])
            #expect(try await usernames(["limit": 1]) == ["carol"])
            let found = try await erin.client.ok("customers", ["query": "alice"])["customers"]?.arrayValue ?? []
            let account = try #require(found.first?["accounts"]?.arrayValue?.first)
            #expect(account["id"] == .string(alice.account))
            #expect(account["balance"] == "12.34")
            #expect(found.first?["role"] == "customer")
            #expect(try await erin.client.errorCode("customers", ["limit": 101]) == "bad_request")
        }
    }

    /// `transactions` filters by user, account, kind and time, newest first, and pages with `next`/`before`
    /// without gaps or repeats.
    @Test func filtersAndPagesTransactions() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let bob = try await hub.customer("bob", deposit: "1.00")
            let carol = try await hub.customer("carol", deposit: nil)
            let erin = try await hub.staff("erin", role: .employee)
            let aliceAccount: JSONValue = .string(alice.account)
            for amount in ["1.00", "2.00", "3.00"] {
                _ = try await alice.client.ok("transfer", ["from": aliceAccount, "to": .string(bob.account), "amount": .string(amount)])
            }
            // Apart by a few milliseconds, so the time bounds below fall between transactions.
            try await Task.sleep(for: .milliseconds(5))
            _ = try await alice.client.ok("withdraw", ["account": aliceAccount, "amount": "4.00"])
            try await Task.sleep(for: .milliseconds(5))
            _ = try await bob.client.ok("transfer", ["from": .string(bob.account), "to": .string(carol.account), "amount": "0.50"])

            func journal(_ args: JSONValue) async throws -> [JSONValue] {
                try await erin.client.ok("transactions", args)["transactions"]?.arrayValue ?? []
            }
            let all = try await journal([:])
            #expect(all.map { $0["amount"]?.stringValue } == ["0.50", "4.00", "3.00", "2.00", "1.00", "1.00", "100.00"])
            #expect(all.first?["user"] == .string(bob.userID))
            #expect(all.first?["from"] == .string(bob.account) && all.first?["to"] == .string(carol.account))
            let alices = try await journal(["user": .string(alice.userID)])
            #expect(alices.map { $0["kind"]?.stringValue } == ["withdrawal", "transfer", "transfer", "transfer", "deposit"])
            let carols = try await journal(["account": .string(carol.account)])
            #expect(carols.map { $0["amount"]?.stringValue } == ["0.50"])
            let transfers = try await journal(["kind": "transfer", "user": .string(bob.userID)])
            #expect(transfers.map { $0["amount"]?.stringValue } == ["0.50", "3.00", "2.00", "1.00"])
            let withdrawalTime = try #require(alices.first?["at"])
            #expect(try await journal(["from": withdrawalTime]).count == 2)
            #expect(try await journal(["to": withdrawalTime, "user": .string(alice.userID)]).count == 5)
            #expect(try await journal(["from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z"]).isEmpty)

            var seen: [JSONValue] = []
            var args: JSONObject = ["limit": 3]
            while true {
                let page = try await erin.client.ok("transactions", .object(args))
                let rows = page["transactions"]?.arrayValue ?? []
                #expect(rows.count <= 3)
                seen += rows.compactMap { $0["id"] }
                guard let next = page["next"] else { break }
                args["before"] = next
            }
            #expect(seen == all.compactMap { $0["id"] })

            for bad: JSONValue in [["kind": "refund"], ["limit": 201], ["limit": 0], ["from": "yesterday"],
                                   ["from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"], ["before": "x"]] {
                #expect(try await erin.client.errorCode("transactions", bad) == "bad_request")
            }
        }
    }

    /// `users` (admin) lists every role newest first with status and last successful login, and pages.
    @Test func listsUsersForAdmins() async throws {
        try await TestHub.with { hub in
            _ = try await hub.customer("alice")
            let never = try await hub.client()
            _ = try await never.ok("signup", ["username": "nora", "password": "correct horse battery"])
            let adam = try await hub.staff("adam", role: .admin)
            var users: [JSONValue] = []
            // Login attempts are written in the login's own commit queue; give the last one a moment.
            for _ in 0..<50 {
                users = try await adam.client.ok("users")["users"]?.arrayValue ?? []
                if users.first?["last_login"]?.stringValue != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(users.map { $0["username"]?.stringValue } == ["adam", "nora", "alice"])
            #expect(users.map { $0["role"]?.stringValue } == ["admin", "customer", "customer"])
            #expect(users.allSatisfy { $0["status"] == "active" })
            #expect(users[0]["last_login"]?.stringValue != nil)
            #expect(users[1]["last_login"] == .null)
            let first = try await adam.client.ok("users", ["limit": 2])
            #expect(first["users"]?.arrayValue?.count == 2)
            let rest = try await adam.client.ok("users", ["limit": 2, "before": try #require(first["next"])])
            #expect(rest["users"]?.arrayValue?.map { $0["username"]?.stringValue } == ["alice"])
            #expect(rest["next"] == nil)
            #expect(try await adam.client.ok("users", ["query": "NOR"])["users"]?.arrayValue?.count == 1)
        }
    }

    /// `audit` (admin) shows each staff resolution with actor, action and target, newest first, in pages.
    @Test func auditShowsStaffResolutions() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let erin = try await hub.staff("erin", role: .employee)
            let adam = try await hub.staff("adam", role: .admin)
            let first = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "a"])
            let second = try await alice.client.serviceRequest("request_create", ["kind": "limit_increase", "note": "b"])
            let third = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "c"])
            _ = try await erin.client.ok("request_approve", ["id": try #require(first["id"])])
            _ = try await erin.client.ok("request_reject", ["id": try #require(second["id"]), "reason": "too soon"])
            _ = try await alice.client.ok("request_cancel", ["id": try #require(third["id"])])
            let entries = try await adam.client.ok("audit")["entries"]?.arrayValue ?? []
            #expect(entries.map { $0["action"]?.stringValue } == ["request_reject", "request_approve"])
            #expect(entries.allSatisfy { $0["actor"] == .string(erin.userID) && $0["actor_username"] == "erin" })
            #expect(entries.map { $0["target"] } == [.string("request:\(second["id"]?.stringValue ?? "")"),
                                                     .string("request:\(first["id"]?.stringValue ?? "")")])
            #expect(entries.first?["detail"]?.stringValue?.contains("too soon") == true)
            let page = try await adam.client.ok("audit", ["limit": 1])
            #expect(page["entries"]?.arrayValue?.count == 1)
            let rest = try await adam.client.ok("audit", ["limit": 1, "before": try #require(page["next"])])
            #expect(rest["entries"]?.arrayValue?.first?["action"] == "request_approve")
        }
    }

    /// An admin reads any customer's history and historical balance and may follow any account; an employee
    /// may not (`not_found`, as for a stranger).
    @Test func adminsReadAnyAccount() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "7.00")
            let adam = try await hub.staff("adam", role: .admin)
            let erin = try await hub.staff("erin", role: .employee)
            let account: JSONValue = .string(alice.account)
            let entries = try await adam.client.ok("history", ["account": account])["entries"]?.arrayValue
            #expect(entries?.map { $0["amount"]?.stringValue } == ["7.00"])
            let now = JSONValue.string("2999-01-01T00:00:00Z")
            #expect(try await adam.client.ok("balance_at", ["account": account, "at": now])["balance"] == "7.00")
            #expect(try await adam.client.errorCode("history", ["account": "999999"]) == "not_found")
            _ = try await adam.client.ok("subscribe", ["stream": .string("account:\(alice.account)")])
            _ = try await adam.client.ok("subscribe", ["stream": .string("user:\(alice.userID)")])
            _ = try await alice.client.ok("deposit", ["account": account, "amount": "1.00"])
            #expect(try await adam.client.nextEvent(kind: "balance")["data"]?["balance"] == "8.00")
            #expect(try await erin.client.errorCode("balance_at", ["account": account, "at": now]) == "not_found")
            #expect(try await erin.client.errorCode("subscribe", ["stream": .string("account:\(alice.account)")])
                    == "not_found")
        }
    }
}
