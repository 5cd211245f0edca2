import BankCore
import BankWire
import Testing

/// The service-request queue over real WebSockets: filing, seeing, cancelling, approving with effects,
/// rejecting, refusing double resolutions, live `request` events and the staff-only ops.
@Suite(.serialized) struct ServiceRequestTests {
    /// A customer files requests, sees only their own, and cancels a pending one exactly once.
    @Test func customerFilesSeesOwnAndCancels() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let filed = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "new passport"])
            #expect(filed["status"] == "pending")
            #expect(filed["user"] == .string(alice.userID))
            #expect(filed["username"] == "alice")
            #expect(filed["kind"] == "kyc_update")
            #expect(filed["account"] == .null)
            #expect(filed["resolved_at"] == .null)
            _ = try await bob.client.serviceRequest("request_create", ["kind": "limit_increase", "note": "rent"])
            let own = try await alice.client.ok("requests")["requests"]?.arrayValue ?? []
            #expect(own.map { $0["id"] } == [filed["id"]])
            let id = try #require(filed["id"])
            #expect(try await bob.client.errorCode("request_cancel", ["id": id]) == "not_found")
            let cancelled = try await alice.client.serviceRequest("request_cancel", ["id": id])
            #expect(cancelled["status"] == "cancelled")
            #expect(cancelled["resolved_by"] == .string(alice.userID))
            #expect(try await alice.client.errorCode("request_cancel", ["id": id]) == "conflict")
            let pending = try await alice.client.ok("requests", ["status": "pending"])["requests"]?.arrayValue
            #expect(pending?.isEmpty == true)
        }
    }

    /// Malformed filings are refused with the field named; nothing is stored.
    @Test func refusesMalformedFilings() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let client = alice.client
            let longNote = JSONValue.string(String(repeating: "n", count: 501))
            for (args, field) in [(["kind": "loan", "note": "x"], "kind"), (["kind": "kyc_update"], "note"),
                                  (["kind": "kyc_update", "note": longNote], "note"),
                                  (["kind": "account_closure", "note": "bye"], "account")] as [(JSONValue, String)] {
                let reply = try await client.request("request_create", args)
                #expect(reply["error"]?["code"] == "bad_request")
                #expect(reply["error"]?["field"] == .string(field))
            }
            let foreign: JSONValue = ["kind": "account_closure", "note": "bye", "account": .string(bob.account)]
            #expect(try await client.errorCode("request_create", foreign) == "not_found")
            #expect(try await client.errorCode("requests", ["status": "open"]) == "bad_request")
            #expect(try await client.ok("requests")["requests"]?.arrayValue?.isEmpty == true)
        }
    }

    /// At most 20 requests may be pending per user, even when 25 are filed at once; cancelling frees a slot.
    @Test func boundsPendingRequestsPerUser() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            var asks: [Int] = []
            for index in 0..<25 {
                asks.append(try await alice.client.send("request_create", ["kind": "kyc_update", "note": .string("n\(index)")]))
            }
            var answers: [JSONValue] = []
            for ask in asks { answers.append(try await alice.client.reply(to: ask)) }
            let filed = answers.compactMap { $0["result"]?["request"]?["id"] }
            #expect(filed.count == 20)
            #expect(Set(filed.compactMap(\.stringValue)).count == 20)
            #expect(answers.filter { $0["error"]?["code"] == "conflict" }.count == 5)
            #expect(try await alice.client.errorCode("request_create", ["kind": "kyc_update", "note": "more"]) == "conflict")
            _ = try await alice.client.ok("request_cancel", ["id": filed[0]])
            _ = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "again"])
        }
    }

    /// Staff see every request; approving the closure of an empty account closes it, and money sent to a
    /// closed account is `not_found`.
    @Test func employeeApprovesClosureOfEmptyAccount() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let bob = try await hub.customer("bob")
            let employee = try await hub.staff("erin", role: .employee)
            let closure = try await alice.client.serviceRequest("request_create", [
                "kind": "account_closure", "note": "moving banks", "account": .string(alice.account)])
            #expect(closure["account"] == .string(alice.account))
            _ = try await bob.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "address"])
            let all = try await employee.client.ok("requests")["requests"]?.arrayValue ?? []
            #expect(all.map { $0["username"]?.stringValue } == ["bob", "alice"])
            let approved = try await employee.client.serviceRequest("request_approve", ["id": try #require(closure["id"])])
            #expect(approved["status"] == "approved")
            #expect(approved["resolved_by"] == .string(employee.userID))
            #expect(approved["resolved_at"]?.stringValue != nil)
            let accounts = try await alice.client.ok("accounts")["accounts"]?.arrayValue
            #expect(accounts?.first?["status"] == "closed")
            let payment: JSONValue = ["from": .string(bob.account), "to": .string(alice.account), "amount": "1.00"]
            #expect(try await bob.client.errorCode("transfer", payment) == "not_found")
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// Approving the closure of an account that holds money is `conflict` and leaves the request pending;
    /// once the account is emptied the same request can be approved.
    @Test func closureOfNonEmptyAccountIsConflict() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "5.00")
            let employee = try await hub.staff("erin", role: .employee)
            let closure = try await alice.client.serviceRequest("request_create", [
                "kind": "account_closure", "note": "done", "account": .string(alice.account)])
            let id = try #require(closure["id"])
            #expect(try await employee.client.errorCode("request_approve", ["id": id]) == "conflict")
            let mine = try await alice.client.ok("requests")["requests"]?.arrayValue
            #expect(mine?.first?["status"] == "pending")
            #expect(try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["status"] == "open")
            _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "5.00"])
            #expect(try await employee.client.serviceRequest("request_approve", ["id": id])["status"] == "approved")
        }
    }

    /// Approving a password reset sends the owner a code, as `forgot_password` does, and that code sets a new
    /// password.
    @Test func approvingPasswordResetSendsAWorkingCode() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.client()
            let password: JSONValue = "correct horse battery"
            _ = try await alice.ok("signup", ["username": "alice", "password": password, "email": "alice@example.com"])
            _ = try await alice.ok("login", ["username": "alice", "password": password])
            let erin = try await hub.staff("erin", role: .employee)
            let filed = try await alice.serviceRequest("request_create", ["kind": "password_reset", "note": "lost it"])
            _ = try await erin.client.serviceRequest("request_approve", ["id": try #require(filed["id"])])
            var code: String?
            for _ in 0..<100 where code == nil {
                code = try OneTimeCodeTests.lastCode(hub, to: "alice@example.com")
                if code == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let reset: JSONValue = ["username": "alice", "code": .string(try #require(code)),
                                    "new_password": "a brand new passphrase"]
            _ = try await hub.client().ok("reset_password", reset)
            _ = try await hub.client().ok("login", ["username": "alice", "password": "a brand new passphrase"])
        }
    }

    /// A rejection needs a reason and records it; a resolved request cannot be resolved again, even when two
    /// staff race for it; staff cannot resolve their own requests.
    @Test
    func rejectsWithReasonAndRefusesSecondResolution() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let erin = try await hub.staff("erin", role: .employee)
            let adam = try await hub.staff("adam", role: .admin)
            let first = try await alice.client.serviceRequest("request_create", ["kind": "limit_increase", "note": "car"])
            let firstID = try #require(first["id"])
            #expect(try await erin.client.errorCode("request_reject", ["id": firstID]) == "bad_request")
            let rejected = try await erin.client.serviceRequest("request_reject", ["id": firstID, "reason": "income unverified"])
            #expect(rejected["status"] == "rejected")
            #expect(rejected["reason"] == "income unverified")
            #expect(try await adam.client.errorCode("request_approve", ["id": firstID]) == "conflict")
            #expect(try await alice.client.errorCode("request_cancel", ["id": firstID]) == "conflict")
            #expect(try await erin.client.errorCode("request_approve", ["id": 999_999]) == "not_found")

            let second = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "name"])
            let secondID = try #require(second["id"])
            let erinAsk = try await erin.client.send("request_approve", ["id": secondID])
            let adamAsk = try await adam.client.send("request_reject", ["id": secondID, "reason": "duplicate"])
            let answers = [try await erin.client.reply(to: erinAsk), try await adam.client.reply(to: adamAsk)]
            #expect(answers.filter { $0["ok"] == true }.count == 1)
            #expect(answers.filter { $0["error"]?["code"] == "conflict" }.count == 1)

            let own = try await erin.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "mine"])
            #expect(try await erin.client.errorCode("request_approve", ["id": try #require(own["id"])]) == "forbidden")
            #expect(try await adam.client.serviceRequest("request_approve", ["id": try #require(own["id"])])["status"]
                    == "approved")
        }
    }

    /// Staff following `staff:requests` and the owner following `user:ID` get each new request and each
    /// resolution live, as persisted `request` events with consecutive seqs.
    @Test func pushesRequestEventsToStaffAndOwner() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let erin = try await hub.staff("erin", role: .employee)
            let watcher = try await hub.staff("wendy", role: .employee)
            #expect(try await watcher.client.ok("subscribe", ["stream": "staff:requests"])["head"] == 0)
            _ = try await alice.client.ok("subscribe", ["stream": .string("user:\(alice.userID)")])
            let filed = try await alice.client.serviceRequest("request_create", ["kind": "password_reset", "note": "forgot"])
            let approved = try await erin.client.serviceRequest("request_approve", ["id": try #require(filed["id"])])
            #expect(approved["status"] == "approved")
            for client in [watcher.client, alice.client] {
                let created = try await client.nextEvent(kind: "request")
                let resolved = try await client.nextEvent(kind: "request")
                #expect(created["data"] == filed)
                #expect(resolved["data"] == approved)
                let seq = try #require(created["seq"]?.int64Value)
                #expect(resolved["seq"]?.int64Value == seq + 1)
            }
            let later = try await hub.client()
            _ = try await later.ok("auth", ["token": .string(watcher.token)])
            #expect(try await later.ok("subscribe", ["stream": "staff:requests", "since": 0])["head"] == 2)
            let replayed = try await later.events(2)
            #expect(replayed.map { $0["data"]?["status"] } == ["pending", "approved"])
        }
    }

    /// A customer gets `forbidden` for every staff op and staff stream; an employee for the admin ones.
    @Test func customersAndEmployeesAreRefusedWhatIsNotTheirs() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let erin = try await hub.staff("erin", role: .employee)
            let staffOps: [(String, JSONValue)] = [
                ("request_approve", ["id": 1]), ("request_reject", ["id": 1, "reason": "no"]), ("customers", [:]),
                ("transactions", [:]), ("users", [:]), ("audit", [:]),
            ]
            for (op, args) in staffOps {
                #expect(try await alice.client.errorCode(op, args) == "forbidden", "\(op)")
            }
            for stream in ["staff:requests", "admin:threats"] {
                #expect(try await alice.client.errorCode("subscribe", ["stream": .string(stream)]) == "forbidden")
            }
            #expect(try await erin.client.errorCode("subscribe", ["stream": "admin:threats"]) == "forbidden")
            #expect(try await erin.client.errorCode("users") == "forbidden")
            #expect(try await erin.client.errorCode("audit") == "forbidden")
            #expect(try await erin.client.errorCode("history", ["account": .string(alice.account)]) == "not_found")
            let anonymous = try await hub.client()
            #expect(try await anonymous.errorCode("requests") == "unauthorized")
        }
    }
}
