import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// The caller's profile over real WebSockets: reading it, changing the name at once, a change of e-mail or
/// phone held behind a code sent to the contact on file, the `user` event, and the notice of an approved
/// `kyc_update`.
@Suite(.serialized) struct ProfileTests {
    /// The newest message to `recipient` whose subject contains `subject`, waiting up to 2 s for its commit.
    static func message(_ hub: TestHub, to recipient: String, subject: String) async throws -> String? {
        for _ in 0..<100 {
            let connection = try hub.database()
            // Matched here rather than in SQL: substring functions differ between SQLite and PostgreSQL.
            let messages = try connection.prepare("SELECT subject, body FROM outbox WHERE recipient = ? ORDER BY id DESC")
                .query(recipient) { ($0.string(0), $0.string(1)) }
            if let body = messages.first(where: { $0.0.contains(subject) })?.1 { return body }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    static func code(in body: String?) -> String? {
        guard let body, let range = body.range(of: #"\b[0-9]{6}\b"#, options: .regularExpression) else { return nil }
        return String(body[range])
    }

    /// A customer signed up with the given profile fields, logged in, with a second screen on `user:ID`.
    private func member(_ hub: TestHub, _ fields: JSONObject) async throws -> (Customer, HubClient) {
        let client = try await hub.client()
        var args: JSONObject = ["username": "alice", "password": "correct horse battery"]
        for (key, value) in fields { args.append(key: key, value: value) }
        let signup = try await client.ok("signup", .object(args))
        let login = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
        let customer = Customer(client: client, token: login["token"]?.stringValue ?? "",
                                account: signup["account"]?["id"]?.stringValue ?? "", userID: login["user"]?["id"]?.stringValue ?? "")
        let screen = try await hub.client()
        _ = try await screen.ok("auth", ["token": .string(customer.token)])
        _ = try await screen.ok("subscribe", ["stream": .string("user:\(customer.userID)")])
        return (customer, screen)
    }

    /// `profile` shows name, contacts and the second factor; a name change (and, with no contact on file,
    /// a first contact) applies at once with a `user` event on every screen.
    @Test func showsAndChangesTheProfile() async throws {
        try await TestHub.with { hub in
            let (alice, screen) = try await member(hub, ["full_name": "Alice Liddell"])
            let shown = try #require(try await alice.client.ok("profile")["user"])
            #expect(shown["full_name"] == "Alice Liddell")
            #expect(shown["email"] == .null)
            #expect(shown["phone"] == .null)
            #expect(shown["totp_enabled"] == false)
            #expect(shown["username"] == "alice")
            let renamed = try #require(try await alice.client.ok("update_profile", ["full_name": "Alice P. Liddell"])["user"])
            #expect(renamed["full_name"] == "Alice P. Liddell")
            let event = try await screen.nextEvent()
            #expect(event["event"] == "user")
            #expect(event["data"] == renamed)
            // Nothing on file to confirm with: the first e-mail applies at once.
            let first = try #require(try await alice.client.ok("update_profile", ["email": "alice@example.com"])["user"])
            #expect(first["email"] == "alice@example.com")
            #expect(try await screen.nextEvent()["data"]?["email"] == "alice@example.com")
            let cleared = try #require(try await alice.client.ok("update_profile", ["full_name": ""])["user"])
            #expect(cleared["full_name"] == .null)
            #expect(try await alice.client.ok("profile")["user"] == cleared)
        }
    }

    /// With an e-mail on file, a new phone needs the code sent to that e-mail: `otp_required` with a
    /// challenge and an `otp` prompt, nothing changed until `confirm_otp`; then the change, the `user` event,
    /// and the session's own notices go to the new contacts at once.
    @Test func holdsAChangeOfContactForACodeSentToTheOldOne() async throws {
        try await TestHub.with { hub in
            let (alice, screen) = try await member(hub, ["email": "alice@example.com"])
            let held = try await alice.client.request("update_profile", ["phone": "+15550100", "email": "new@example.com"])
            #expect(held["error"]?["code"] == "otp_required")
            let challenge = try #require(held["error"]?["challenge"])
            let prompt = try await screen.nextEvent()
            #expect(prompt["event"] == "otp")
            #expect(prompt["data"]?["op"] == "profile")
            #expect(prompt["data"]?["summary"] == "change e-mail to new@example.com, phone to +15550100")
            let body = try await Self.message(hub, to: "alice@example.com", subject: "code")
            #expect(body?.contains("new@example.com") == true)
            let code = try #require(Self.code(in: body))
            #expect(try await alice.client.ok("profile")["user"]?["email"] == "alice@example.com")
            let wrong = code == "000000" ? "111111" : "000000"
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": .string(wrong)]) == "otp_invalid")
            let done = try #require(try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])["user"])
            #expect(done["email"] == "new@example.com")
            #expect(done["phone"] == "+15550100")
            let events = try await screen.events(2)
            #expect(events.map { $0["event"]?.stringValue } == ["otp", "user"])
            #expect(events[0]["data"]?["status"] == "confirmed")
            #expect(events[1]["data"] == done)
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": .string(code)]) == "otp_invalid")
            // The session sees the new contacts: its next receipt goes to the new address.
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            #expect(try await Self.message(hub, to: "new@example.com", subject: "receipt") != nil)
        }
    }

    /// Changing only the phone of a user who has one sends the code to the contact on file that can take it: the
    /// phone through an SMS gateway, else (as here) the e-mail address; removing a contact is a change too.
    @Test func sendsThePhoneCodeToThePhoneOnFile() async throws {
        try await TestHub.with { hub in
            let (alice, _) = try await member(hub, ["phone": "+15550100", "email": "alice@example.com"])
            let held = try await alice.client.request("update_profile", ["phone": "+15550199"])
            let challenge = try #require(held["error"]?["challenge"])
            let code = try #require(Self.code(in: try await Self.message(hub, to: "alice@example.com", subject: "code")))
            _ = try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])
            let removal = try await alice.client.request("update_profile", ["email": ""])
            #expect(removal["error"]?["code"] == "otp_required")
            #expect(try await alice.client.ok("profile")["user"]?["phone"] == "+15550199")
            #expect(try await alice.client.ok("profile")["user"]?["email"] == "alice@example.com")
        }
    }

    /// Bad fields are `bad_request` naming them, an empty change is `bad_request`; nothing changes.
    @Test func refusesBadProfileChanges() async throws {
        try await TestHub.with { hub in
            let (alice, _) = try await member(hub, ["full_name": "Alice"])
            for (args, field) in [(["email": "not-an-address"], "email"), (["phone": "555"], "phone"),
                                  (["full_name": .string(String(repeating: "a", count: 101))], "full_name"),
                                  (["email": .number("1")], "email")] as [(JSONValue, String)] {
                let reply = try await alice.client.request("update_profile", args)
                #expect(reply["error"]?["code"] == "bad_request")
                #expect(reply["error"]?["field"] == .string(field))
            }
            #expect(try await alice.client.errorCode("update_profile", [:]) == "bad_request")
            let shown = try await alice.client.ok("profile")["user"]
            #expect(shown?["full_name"] == "Alice")
            #expect(shown?["email"] == .null)
        }
    }

    /// Approving a `kyc_update` tells the customer: a message in the outbox to their address, and the
    /// `request` event on their `user:ID`.
    @Test func approvedDetailsUpdateIsToldToTheCustomer() async throws {
        try await TestHub.with { hub in
            let (alice, screen) = try await member(hub, ["email": "alice@example.com"])
            let employee = try await hub.staff("erin", role: .employee)
            let filed = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update", "note": "new passport"])
            _ = try await employee.client.ok("request_approve", ["id": try #require(filed["id"])])
            let events = try await screen.events(2)
            #expect(events.map { $0["data"]?["status"]?.stringValue } == ["pending", "approved"])
            let body = try await Self.message(hub, to: "alice@example.com", subject: "details were updated")
            #expect(body?.contains("new passport") == true)
        }
    }
}
