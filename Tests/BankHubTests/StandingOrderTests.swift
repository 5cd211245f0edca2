import BankCore
@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// Standing orders against the real hub: a payment falls due and is made once as a normal transfer with its
/// events and receipt; a refused one is recorded as failed with an event and a message; bad orders are
/// refused with their codes and change nothing.
@Suite(.serialized) struct StandingOrderTests {
    /// `now` plus `milliseconds`, as RFC 3339.
    static func later(_ milliseconds: Int64) -> JSONValue {
        .string(Timestamp(milliseconds: Clock.nowMilliseconds() + milliseconds).rfc3339)
    }

    static func balance(_ customer: Customer) async throws -> String? {
        try await customer.client.ok("accounts")["accounts"]?.arrayValue?.first { $0["id"]?.stringValue == customer.account }?["balance"]?.stringValue
    }

    static func subscribe(_ customer: Customer) async throws {
        _ = try await customer.client.ok("subscribe", ["stream": .string("user:\(customer.userID)")])
        _ = try await customer.client.ok("subscribe", ["stream": .string("account:\(customer.account)")])
    }

    /// An order due in two seconds is paid once, as a transfer with the `balance` and `transfer` events, the
    /// `order` event `paid` on `user:ID` and a receipt; the order completes after its one payment.
    @Test func paysAnOrderWhenItFallsDue() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            try await Self.subscribe(alice)
            let created = try await alice.client.ok("order_create", [
                "from": .string(alice.account), "to": .string(bob.account), "amount": "25.50", "every": "month",
                "start": Self.later(2_000), "count": 1, "note": "rent",
            ])["order"]
            let order = try #require(created)
            #expect(order["status"] == "active" && order["paid"] == 0 && order["failed"] == 0 && order["count"] == 1)
            #expect(order["next_due"] == order["start"] && order["every"] == "month" && order["amount"] == "25.50")

            // Whichever hub pays it (in the pair run its streams may come over the bus, ordered per stream).
            let events = try await alice.client.events(3, ofOneCommitOn: ["account:\(alice.account)", "user:\(alice.userID)"],
                                                       timeout: .seconds(10))
            let kinds = events.map { $0["event"]?.stringValue ?? "?" }
            let paid = events.first { $0["event"] == "order" }
            #expect(kinds == ["balance", "transfer", "order"], "the transfer's events come first, in one commit")
            let data = try #require(paid?["data"])
            #expect(paid?["stream"]?.stringValue == "user:\(alice.userID)")
            #expect(data["action"] == "paid" && data["due"] == order["start"])
            #expect(data["txn"]?["kind"] == "transfer" && data["txn"]?["amount"] == "25.50" && data["txn"]?["note"] == "rent")
            #expect(data["txn"]?["from"]?.stringValue == alice.account && data["txn"]?["to"]?.stringValue == bob.account)
            #expect(data["order"]?["status"] == "completed" && data["order"]?["paid"] == 1 && data["order"]?["next_due"] == .null)

            // Paid once: nothing more comes, the money moved once.
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(alice.client.events.isEmpty)
            #expect(try await Self.balance(alice) == "74.50")
            #expect(try await Self.balance(bob) == "25.50")
            let listed = try await alice.client.ok("orders")["orders"]?.arrayValue ?? []
            #expect(listed.count == 1 && listed.first?["status"] == "completed" && listed.first?["ended_at"] != .null)
            let history = try await alice.client.ok("history", ["account": .string(alice.account)])["entries"]?.arrayValue ?? []
            #expect(history.first?["txn"] == data["txn"]?["id"] && history.first?["amount"] == "-25.50")
            let receipts = try NotifierTests.outboxJSON(hub).filter { $0["subject"] == "BankHub receipt: transfer of 25.50" }
            #expect(receipts.count == 1 && receipts.first?["to"] == "user:alice")
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// A payment the ledger refuses (insufficient funds) moves nothing, is not retried for that period, and
    /// is told: a rejected `transfer` event on the account, the `order` event `failed` with the reason, and a
    /// message. An order until cancelled stays active with its next period due.
    @Test func recordsARefusedPaymentAsFailed() async throws {
        try await TestHub.with { hub in
            let carol = try await hub.customer("carol", deposit: "10.00")
            let bob = try await hub.customer("bob", deposit: nil)
            try await Self.subscribe(carol)
            let start = Self.later(1_500)
            _ = try await carol.client.ok("order_create", [
                "from": .string(carol.account), "to": .string(bob.account), "amount": "25.00", "every": "week", "start": start,
            ])
            let rejected = try await carol.client.nextEvent(timeout: .seconds(10))
            #expect(rejected["event"] == "transfer" && rejected["data"]?["status"] == "rejected")
            #expect(rejected["data"]?["reason"] == "insufficient_funds")
            let failed = try await carol.client.nextEvent(kind: "order", timeout: .seconds(5))
            let data = try #require(failed["data"])
            #expect(data["action"] == "failed" && data["reason"] == "insufficient_funds" && data["due"] == start)
            #expect(data["order"]?["status"] == "active" && data["order"]?["failed"] == 1 && data["order"]?["paid"] == 0)
            let weekLater = Timestamp(milliseconds: Timestamp.parse(rfc3339: start.stringValue ?? "")!.milliseconds + 7 * 86_400_000)
            #expect(data["order"]?["next_due"]?.stringValue == weekLater.rfc3339)

            try await Task.sleep(for: .milliseconds(1_500))
            #expect(carol.client.events.isEmpty, "a failed period is not retried")
            #expect(try await Self.balance(carol) == "10.00")
            #expect(try await Self.balance(bob) == "0.00")
            let notices = try NotifierTests.outboxJSON(hub).filter { ($0["subject"]?.stringValue ?? "").contains("payment failed") }
            #expect(notices.count == 1)
            #expect(notices.first?["body"]?.stringValue?.contains("insufficient_funds") == true)
        }
    }

    /// A payment due from an account an admin locked fails with `account_locked`; creating an order from a
    /// locked account is refused the same way.
    @Test func lockedAccountsFailTheirPayments() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let admin = try await hub.staff("adam", role: .admin)
            try await Self.subscribe(alice)
            _ = try await alice.client.ok("order_create", [
                "from": .string(alice.account), "to": .string(bob.account), "amount": "5.00", "every": "day",
                "start": Self.later(1_500),
            ])
            _ = try await admin.client.ok("lock_account", ["account": .string(alice.account), "admin_key": .string(TestHub.adminKey)])
            let failed = try await alice.client.nextEvent(kind: "order", timeout: .seconds(10))
            #expect(failed["data"]?["action"] == "failed" && failed["data"]?["reason"] == "account_locked")
            #expect(try await alice.client.errorCode("order_create", [
                "from": .string(alice.account), "to": .string(bob.account), "amount": "5.00", "every": "day",
                "start": Self.later(60_000),
            ]) == "account_locked")
            #expect(try await Self.balance(alice) == "100.00")
        }
    }

    /// Bad orders are refused with their codes and create nothing: another customer's account, unknown
    /// accounts, bad amounts, the same account, a bad period, a start in the past, a bad count, a missing field.
    @Test func refusesBadOrders() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let good: [String: JSONValue] = ["from": .string(alice.account), "to": .string(bob.account), "amount": "10.00",
                                             "every": "month", "start": Self.later(60_000)]
            func args(_ changes: [String: JSONValue?]) -> JSONValue {
                var merged = good
                for (key, value) in changes { merged[key] = value }
                return .object(JSONObject(merged.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }))
            }
            let refusals: [([String: JSONValue?], String, String?)] = [
                (["from": .string(bob.account), "to": .string(alice.account)], "not_found", nil),
                (["to": "999999"], "not_found", nil),
                (["amount": "0"], "invalid_amount", "amount"),
                (["amount": "10.001"], "invalid_amount", "amount"),
                (["amount": .number("10")], "invalid_amount", "amount"),
                (["amount": "1000000000.01"], "invalid_amount", "amount"),
                (["to": .string(alice.account)], "same_account", "to"),
                (["every": "fortnight"], "bad_request", "every"),
                (["start": Self.later(-120_000)], "bad_request", "start"),
                (["start": "tomorrow"], "bad_request", "start"),
                (["start": Self.later((Hub.orderStartAheadDaysMax + 1) * 86_400_000)], "bad_request", "start"),
                (["count": 0], "bad_request", "count"),
                (["count": "3"], "bad_request", "count"),
                (["note": .string(String(repeating: "x", count: 141))], "bad_request", "note"),
                (["from": nil], "bad_request", "from"),
                (["to": nil], "bad_request", "to"),
                (["amount": nil], "bad_request", "amount"),
                (["every": nil], "bad_request", "every"),
                (["start": nil], "bad_request", "start"),
            ]
            for (changes, code, field) in refusals {
                let reply = try await alice.client.request("order_create", args(changes))
                #expect(reply["error"]?["code"]?.stringValue == code, "\(changes): \(JSONWriter.string(reply))")
                if let field { #expect(reply["error"]?["field"]?.stringValue == field, "\(changes)") }
            }
            #expect(try await alice.client.ok("orders")["orders"]?.arrayValue?.isEmpty == true)
            // Someone else's order is not found, whether cancelled or listed.
            let order = try #require(try await alice.client.ok("order_create", args([:]))["order"]?["id"])
            #expect(try await bob.client.errorCode("order_cancel", ["id": order]) == "not_found")
            #expect(try await bob.client.ok("orders")["orders"]?.arrayValue?.isEmpty == true)
            #expect(try await alice.client.errorCode("order_cancel", ["id": "424242"]) == "not_found")
            #expect(try await alice.client.errorCode("order_cancel", [:]) == "bad_request")
            #expect(try await alice.client.errorCode("orders", ["status": "paused"]) == "bad_request")
            #expect(try await Self.balance(alice) == "100.00")
            #expect(try await Self.balance(bob) == "100.00")
        }
    }

    /// A cancelled order pays nothing more; cancelling it again is `conflict`; `orders` filters by status.
    @Test func cancelledOrderPaysNothing() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let order = try #require(try await alice.client.ok("order_create", [
                "from": .string(alice.account), "to": .string(bob.account), "amount": "1.00", "every": "day",
                "start": Self.later(1_500),
            ])["order"]?["id"])
            let cancelled = try await alice.client.ok("order_cancel", ["id": order])["order"]
            #expect(cancelled?["status"] == "cancelled" && cancelled?["next_due"] == .null && cancelled?["ended_at"] != .null)
            #expect(try await alice.client.errorCode("order_cancel", ["id": order]) == "conflict")
            try await Task.sleep(for: .milliseconds(2_500))
            #expect(try await Self.balance(alice) == "100.00")
            #expect(try await alice.client.ok("orders", ["status": "cancelled"])["orders"]?.arrayValue?.count == 1)
            #expect(try await alice.client.ok("orders", ["status": "active"])["orders"]?.arrayValue?.isEmpty == true)
        }
    }

    /// An order whose payments would each need a code (at or above the OTP threshold) is held for one: its
    /// payments are made later with nobody to type it. The code creates the order; nothing exists before.
    @Test func holdsLargeOrdersForACode() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "5000.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let held = try await alice.client.request("order_create", [
                "from": .string(alice.account), "to": .string(bob.account), "amount": "1000.00", "every": "month",
                "start": Self.later(3_600_000), "count": 12,
            ])
            #expect(held["error"]?["code"] == "otp_required")
            let challenge = try #require(held["error"]?["challenge"])
            #expect(try await alice.client.ok("orders")["orders"]?.arrayValue?.isEmpty == true)
            var code: String?
            for _ in 0..<100 where code == nil {
                code = try OneTimeCodeTests.lastCode(hub, to: "user:alice")
                if code == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let confirmed = try await alice.client.ok("confirm_otp", ["challenge": challenge, "code": .string(try #require(code))])
            #expect(confirmed["order"]?["amount"] == "1000.00" && confirmed["order"]?["count"] == 12)
            #expect(confirmed["order"]?["status"] == "active")
            #expect(try await alice.client.ok("orders")["orders"]?.arrayValue?.count == 1)
            #expect(try await alice.client.errorCode("confirm_otp", ["challenge": challenge, "code": .string(code ?? "")]) == "otp_invalid")
            #expect(try await Self.balance(alice) == "5000.00")
        }
    }

    /// A user may have 50 active orders; the 51st is `conflict` until one is cancelled.
    @Test func limitsActiveOrdersPerUser() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00",
                                   "every": "month", "start": Self.later(3_600_000)]
            var first: JSONValue?
            for _ in 0..<Hub.ordersPerUserMax {
                let order = try await alice.client.ok("order_create", args)["order"]?["id"]
                first = first ?? order
            }
            #expect(try await alice.client.errorCode("order_create", args) == "conflict")
            _ = try await alice.client.ok("order_cancel", ["id": try #require(first)])
            _ = try await alice.client.ok("order_create", args)
        }
    }
}

