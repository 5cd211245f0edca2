@testable import BankHub
import BankCore
import BankCrypto
import BankStorage
import BankWire
import Foundation
import SMTPTestPeer
import Testing

/// Work several hubs on one PostgreSQL database share, claimed per row (`WorkClaims`, migration 4): every hub
/// runs the outbox worker and the standing-order scheduler, and each message, receipt and due period is done
/// by one of them. Real hubs, a real PostgreSQL server and a real SMTP server (aiosmtpd).
@Suite(.serialized, .disabled(if: TestDatabase.isPair, "starts its own hubs on one database (the SQLite and postgres runs run it)"))
struct OutboxClaimTests {
    /// A customer with an e-mail address, signed up and logged in on `hub`: receipts go to the SMTP server.
    static func emailCustomer(_ hub: TestHub, _ name: String, deposit: String? = nil) async throws -> Customer {
        let client = try await hub.client()
        let signup = try await client.ok("signup", ["username": .string(name), "password": "correct horse battery",
                                                    "email": .string("\(name)@example.com")])
        let login = try await client.ok("login", ["username": .string(name), "password": "correct horse battery"])
        let account = signup["account"]?["id"]?.stringValue ?? ""
        if let deposit { _ = try await client.ok("deposit", ["account": .string(account), "amount": .string(deposit)]) }
        return Customer(client: client, token: login["token"]?.stringValue ?? "", account: account,
                        userID: login["user"]?["id"]?.stringValue ?? "")
    }

    /// One integer read from the database (`SELECT COUNT(*) …` and the like).
    static func integer(_ hub: TestHub, _ sql: String) throws -> Int64 {
        try hub.database().prepare(sql).queryOne { $0.int64(0) } ?? -1
    }

    /// Polls until nothing is pending in the outbox and every transaction's receipt is recorded (bounded).
    static func settled(_ hub: TestHub, deadline: Duration = .seconds(60)) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            let pending = try integer(hub, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            let behind = try integer(hub, """
                SELECT COUNT(*) FROM transactions t JOIN receipt_cursor c ON c.id = 1
                WHERE (t.commit_order, t.id) > (c.last_commit_order, c.last_transaction_id)
                """)
            if pending == 0 && behind == 0 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// How many messages the SMTP server got with each subject.
    /// A message due `now`, claimed by hub `holder` until `until`, as a hub that claimed it left it.
    static func insertClaimedMessage(_ db: any SQLDatabase, _ subject: String, by holder: String, now: Int64,
                                     until: Int64) throws {
        try db.prepare("""
            INSERT INTO outbox(channel, recipient, subject, body, next_attempt_at, created_at, claimed_by, claimed_until)
            VALUES ('email', 'x@example.com', ?, 'b', ?, ?, ?, ?)
            """).run(subject, now, now, holder, until)
    }

    static func subjects(_ peer: SMTPPeer) throws -> [String: Int] {
        try peer.received().reduce(into: [:]) { $0[$1.subject, default: 0] += 1 }
    }

    /// Two hubs on one database, each with its outbox worker (the default), sending to one SMTP server: 50
    /// queued messages and the receipts of 20 deposits made on both hubs each arrive exactly once.
    @Test func twoHubsWithWorkersDeliverEachMessageAndReceiptOnce() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await SeveralHubsTests.withTwoHubs(configure: NotifierTests.smtp(port: peer.port), prepare: { a in
            try await Self.emailCustomer(a, "alice")
        }) { a, b, alice in
            #expect(a.server.notifier.runsWorker && b.server.notifier.runsWorker, "every hub runs the worker by default")
            let onB = try await SeveralHubsTests.session(on: b, token: alice.token)
            let db = try a.database(write: true)
            for round in 0..<5 {
                for index in 0..<10 {
                    let n = round * 10 + index
                    try OutboxRecords.insert(db, channel: "email", recipient: "user\(n)@example.com",
                                             subject: "claimed message \(n)", body: "body \(n)", at: Clock.now())
                }
                // Both workers look at once, so without claims both would take the same rows.
                a.server.notifier.queued()
                b.server.notifier.queued()
                // Four deposits a round, two on each hub: amounts 1.00 to 20.00 over the rounds.
                for (index, client) in [alice.client, onB, alice.client, onB].enumerated() {
                    _ = try await client.ok("deposit", ["account": .string(alice.account),
                                                        "amount": .string("\(round * 4 + index + 1).00")])
                }
            }
            #expect(try await Self.settled(a), "every message and receipt recorded")
            _ = try await peer.waitForMessages(70, timeout: .seconds(30))
            let counts = try Self.subjects(peer)
            for n in 0..<50 { #expect(counts["claimed message \(n)"] == 1, "message \(n): \(counts["claimed message \(n)"] ?? 0)") }
            for amount in 1...20 {
                let subject = "BankHub receipt: deposit of \(amount).00"
                #expect(counts[subject] == 1, "\(subject): \(counts[subject] ?? 0)")
            }
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1") >= 70)
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM outbox WHERE claimed_by IS NOT NULL") == 0,
                    "every claim given back with its record")
        }
    }

    /// Claims of a hub that is alive (its heartbeat renewed) but stuck: a message whose lease has passed is
    /// delivered at once; a message and the receipt cursor still leased wait until the lease ends, then go out once.
    @Test func claimsOfAStuckHubAreTakenOnceTheirLeaseEnds() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let url = try TestDatabase.freshDatabaseURL()
        try await TestHub.with(configure: { options in
            options = PostgresHubTests.options(url)
            NotifierTests.smtp(port: peer.port)(&options)
        }) { hub in
            let alice = try await Self.emailCustomer(hub, "alice")
            #expect(try await Self.settled(hub), "the login notice is out")
            let db = try hub.database(write: true)
            let now = Clock.nowMilliseconds()
            let leaseEnd = now + 8_000
            // Alive for the whole test (as if it renewed its heartbeat every second), yet it never finishes.
            try db.prepare("INSERT INTO hub_heartbeats(holder, seen_until) VALUES ('dead-hub', ?)").run(now + 600_000)
            try Self.insertClaimedMessage(db, "lease passed", by: "dead-hub", now: now, until: now - 1_000)
            try Self.insertClaimedMessage(db, "still leased", by: "dead-hub", now: now, until: leaseEnd)
            try db.prepare("UPDATE receipt_cursor SET claimed_by = 'dead-hub', claimed_until = ? WHERE id = 1").run(leaseEnd)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "7.00"])
            hub.server.notifier.queued()

            let passed = try await peer.waitForMessages(2, timeout: .seconds(30))
            #expect(passed.contains { $0.subject == "lease passed" })
            #expect(try await Self.settled(hub))
            let counts = try Self.subjects(peer)
            #expect(counts["lease passed"] == 1 && counts["still leased"] == 1
                    && counts["BankHub receipt: deposit of 7.00"] == 1, "\(counts)")
            // The leased ones were sent only once the dead hub's lease had ended.
            let sentAt = { (subject: String) throws -> Int64 in
                try db.prepare("SELECT sent_at FROM outbox WHERE subject = ?").queryOne(subject) { $0.int64(0) } ?? 0
            }
            #expect(try sentAt("lease passed") < leaseEnd, "an expired claim does not hold the message")
            #expect(try sentAt("still leased") >= leaseEnd)
            #expect(try sentAt("BankHub receipt: deposit of 7.00") >= leaseEnd)
        }
    }

    /// A hub killed while it holds the receipt cursor and two messages under a 120 s lease: once its heartbeat has
    /// passed (its last beat lasted 3 s here), the live hub takes them and sends each once, within seconds rather
    /// than after the lease. The live hub's own heartbeat is in the database while it runs and gone after its
    /// clean stop.
    @Test func claimsOfAKilledHubAreTakenSecondsAfterItsHeartbeatPasses() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let url = try TestDatabase.freshDatabaseURL()
        let holder = try await TestHub.with(configure: { options in
            options = PostgresHubTests.options(url)
            NotifierTests.smtp(port: peer.port)(&options)
        }) { hub in
            let alice = try await Self.emailCustomer(hub, "alice")
            #expect(try await Self.settled(hub), "the login notice is out")
            let holder = try #require(hub.server.services.claims?.holder)
            #expect(try Self.integer(hub, "SELECT COUNT(*) FROM hub_heartbeats WHERE holder = '\(holder)'") == 1,
                    "a running hub beats")
            let db = try hub.database(write: true)
            let now = Clock.nowMilliseconds()
            let leaseEnd = now + 120_000, heartbeatEnd = now + 3_000
            try db.prepare("INSERT INTO hub_heartbeats(holder, seen_until) VALUES ('killed-hub', ?)").run(heartbeatEnd)
            for subject in ["held one", "held two"] {
                try Self.insertClaimedMessage(db, subject, by: "killed-hub", now: now, until: leaseEnd)
            }
            try db.prepare("UPDATE receipt_cursor SET claimed_by = 'killed-hub', claimed_until = ? WHERE id = 1").run(leaseEnd)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "7.00"])
            hub.server.notifier.queued()

            #expect(try await Self.settled(hub, deadline: .seconds(30)), "delivered well before the lease ends")
            let counts = try Self.subjects(peer)
            #expect(counts["held one"] == 1 && counts["held two"] == 1
                    && counts["BankHub receipt: deposit of 7.00"] == 1, "\(counts)")
            let sentAt = { (subject: String) throws -> Int64 in
                try db.prepare("SELECT sent_at FROM outbox WHERE subject = ?").queryOne(subject) { $0.int64(0) } ?? 0
            }
            for subject in ["held one", "held two", "BankHub receipt: deposit of 7.00"] {
                let at = try sentAt(subject)
                #expect(at >= heartbeatEnd, "\(subject): held while the killed hub's heartbeat was live")
                #expect(at < heartbeatEnd + 10_000, "\(subject): sent \(at - heartbeatEnd) ms after its heartbeat passed")
            }
            return holder
        }
        let db = try TestDatabase.connection(path: "", url: url, write: false)
        #expect(try db.prepare("SELECT COUNT(*) FROM hub_heartbeats WHERE holder = ?").queryOne(holder) { $0.int64(0) } == 0,
                "a clean stop deletes the heartbeat")
    }

    /// Alice's standing order `start`-ing then, of `amount` to bob, once.
    static func order(_ alice: Customer, to bob: Customer, amount: String, start: Int64) async throws -> String {
        let created = try await alice.client.ok("order_create", [
            "from": .string(alice.account), "to": .string(bob.account), "amount": .string(amount), "every": "month",
            "start": .string(Timestamp(milliseconds: start).rfc3339), "count": 1,
        ])
        return try #require(created["order"]?["id"]?.stringValue)
    }

    /// Polls until order `id` has ended (bounded); its status then.
    static func ended(_ hub: TestHub, order id: String, deadline: Duration = .seconds(30)) async throws -> String? {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            let status = try hub.database().prepare("SELECT status FROM standing_orders WHERE id = ?")
                .queryOne(Int64(id) ?? 0) { $0.string(0) }
            if status != "active" { return status }
            try await Task.sleep(for: .milliseconds(100))
        }
        return "active"
    }

    /// An order both hubs know at start falls due: one payment, one `order` event, one receipt. Both hubs
    /// run the scheduler; the order was made before the second one started.
    @Test func anOrderDueOnTwoHubsIsPaidOnceWithOneReceipt() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let start = Clock.nowMilliseconds() + 5_000
        try await SeveralHubsTests.withTwoHubs(configure: NotifierTests.smtp(port: peer.port), prepare: { a in
            let alice = try await Self.emailCustomer(a, "alice", deposit: "100.00")
            let bob = try await Self.emailCustomer(a, "bob")
            return (alice, try await Self.order(alice, to: bob, amount: "25.00", start: start))
        }) { a, b, prepared in
            let (alice, order) = prepared
            #expect(try await Self.ended(b, order: order) == "completed")
            #expect(try await Self.settled(a))
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM standing_order_payments WHERE order_id = \(order)") == 1)
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM transactions WHERE idempotency_key LIKE 'order/\(order)/%'") == 1)
            #expect(try Self.integer(a, "SELECT balance FROM accounts WHERE id = \(alice.account)") == 7_500)
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM events WHERE stream = 'user:\(alice.userID)' AND kind = 'order'") == 1)
            _ = try await peer.waitForMessages(1, timeout: .seconds(10))
            #expect(try Self.subjects(peer)["BankHub receipt: transfer of 25.00"] == 1)
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM standing_orders WHERE claimed_by IS NOT NULL") == 0)
        }
    }

    /// A period the ledger refuses (insufficient funds), due on two hubs that both know the order: recorded
    /// once as failed, with one `order` event and one failure notice, and both hubs keep serving.
    @Test func aRefusedPeriodDueOnTwoHubsIsRecordedOnceWithOneNotice() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let start = Clock.nowMilliseconds() + 5_000
        try await SeveralHubsTests.withTwoHubs(configure: NotifierTests.smtp(port: peer.port), prepare: { a in
            let carol = try await Self.emailCustomer(a, "carol", deposit: "10.00")
            let bob = try await Self.emailCustomer(a, "bob")
            return (carol, try await Self.order(carol, to: bob, amount: "25.00", start: start))
        }) { a, b, prepared in
            let (carol, order) = prepared
            #expect(try await Self.ended(a, order: order) == "completed")
            #expect(try await Self.settled(b))
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM standing_order_payments WHERE order_id = \(order) AND reason = 'insufficient_funds'") == 1)
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM events WHERE stream = 'user:\(carol.userID)' AND kind = 'order'") == 1)
            let subject = "BankHub standing order \(order): payment failed"
            #expect(try Self.integer(a, "SELECT COUNT(*) FROM outbox WHERE subject = '\(subject)'") == 1)
            _ = try await peer.waitForMessages(1, timeout: .seconds(10))
            #expect(try Self.subjects(peer)[subject] == 1)
            #expect(try Self.integer(a, "SELECT balance FROM accounts WHERE id = \(carol.account)") == 1_000)
            // Both hubs still answer.
            _ = try await carol.client.ok("accounts")
            _ = try await (try await SeveralHubsTests.session(on: b, token: carol.token)).ok("accounts")
        }
    }

    /// An order made on hub A is paid by hub B once A has stopped, and cancelled on B an order made on A stops:
    /// the database, not the hub that made it, says what is due.
    @Test func anOrderMadeOnOneHubIsPaidOrCancelledOnTheOther() async throws {
        let url = try TestDatabase.freshDatabaseURL()
        let codeKey = Hex.encode(SecureRandom.bytes(32))
        try await TestHub.with(configure: { SeveralHubsTests.options(url, codeKey: codeKey, &$0) }) { b in
            // Made on hub A, which stops before they fall due.
            let (alice, paid, cancelled, start) = try await TestHub.with(configure: {
                SeveralHubsTests.options(url, codeKey: codeKey, &$0)
            }) { a in
                let alice = try await Self.emailCustomer(a, "alice", deposit: "100.00")
                let bob = try await Self.emailCustomer(a, "bob")
                let start = Clock.nowMilliseconds() + 10_000
                let paid = try await Self.order(alice, to: bob, amount: "10.00", start: start)
                let cancelled = try await Self.order(alice, to: bob, amount: "20.00", start: start)
                return (alice, paid, cancelled, start)
            }
            #expect(Clock.nowMilliseconds() < start, "hub A stopped before the orders fell due")
            let onB = try await SeveralHubsTests.session(on: b, token: alice.token)
            let reply = try await onB.ok("order_cancel", ["id": .string(cancelled)])
            #expect(reply["order"]?["status"] == "cancelled")
            #expect(try await Self.ended(b, order: paid) == "completed")
            #expect(try Self.integer(b, "SELECT COUNT(*) FROM standing_order_payments WHERE order_id = \(cancelled)") == 0)
            #expect(try Self.integer(b, "SELECT balance FROM accounts WHERE id = \(alice.account)") == 9_000)
        }
    }
}
