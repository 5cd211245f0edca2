@testable import BankHub
import BankCore
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// Idempotency keys older than the recent window are held only as hashes, yet a retry still never moves money
/// twice: it is answered from the stored transaction (the slow path), over real WebSockets across a restart.
@Suite(.serialized) struct IdempotencyWindowTests {
    static let password: JSONValue = "correct horse battery"

    /// A key from before the restart, outside a 1 ms window, replays its original transaction (`replayed`,
    /// same txn id and balance); other arguments are `conflict` naming the field; a large transfer's retry
    /// needs no code; a key used after the restart and compacted by the janitor replays the same way.
    @Test func oldKeysReplayFromTheDatabase() async throws {
        let files = PersistentHub()
        defer { files.remove() }
        let first = try await files.run(configure: { $0.hub.security.otpThreshold = Money(cents: 100_000_000) }) { run in
            try await Self.payOnce(run)
        }
        try await Task.sleep(for: .milliseconds(5))

        try await files.run(configure: { $0.hub.retention.idempotencyRecentMilliseconds = 1 }) { run in
            try await run.janitorPasses(1)
            let counts = await run.server.ledger.keyCounts
            #expect(counts.recent == 0 && counts.stored == 2, "old keys should be held as hashes only: \(counts)")
            let alice = try await run.client()
            _ = try await alice.ok("auth", ["token": .string(first.token)])
            let args: JSONValue = ["from": .string(first.from), "to": .string(first.to), "amount": "10.00",
                                   "idempotency_key": "rent-2026-01"]
            let again = try await alice.ok("transfer", args)
            #expect(again["replayed"] == true)
            #expect(again["txn"]?["id"] == first.rent["txn"]?["id"])
            #expect(again["balance"] == first.rent["balance"])
            let changed = try await alice.request("transfer", ["from": .string(first.from), "to": .string(first.to),
                                                                 "amount": "11.00", "idempotency_key": "rent-2026-01"])
            #expect(changed["error"]?["code"] == "conflict")
            #expect(changed["error"]?["field"] == "amount")
            // The same large transfer is over the code threshold now, but a retry only replays: no code.
            let big: JSONValue = ["from": .string(first.from), "to": .string(first.to), "amount": "1500.00",
                                  "idempotency_key": "car-1"]
            let bigAgain = try await alice.ok("transfer", big)
            #expect(bigAgain["replayed"] == true)
            #expect(bigAgain["txn"]?["id"] == first.car["txn"]?["id"])

            // A new key: applied once; compacted by a pass; its retry then takes the slow path too.
            let next: JSONValue = ["from": .string(first.from), "to": .string(first.to), "amount": "5.00",
                                   "idempotency_key": "rent-2026-02"]
            let paid = try await alice.ok("transfer", next)
            #expect(paid["replayed"] == nil)
            try await Task.sleep(for: .milliseconds(5))
            #expect(await run.server.janitor.pass(now: Clock.now()).keysCompacted == 1)
            let paidAgain = try await alice.ok("transfer", next)
            #expect(paidAgain["replayed"] == true)
            #expect(paidAgain["txn"]?["id"] == paid["txn"]?["id"])
            let wrongNote = try await alice.request("transfer", ["from": .string(first.from), "to": .string(first.to),
                                                                   "amount": "5.00", "note": "march",
                                                                   "idempotency_key": "rent-2026-02"])
            #expect(wrongNote["error"]?["field"] == "note")

            // Money moved once per key: 2000 - 10 - 1500 - 5.
            let balances = try await alice.ok("accounts")["accounts"]?.arrayValue?.compactMap { $0["balance"]?.stringValue }
            #expect(balances == ["485.00"])
            // The connection is held while its statement runs (PostgreSQL's statements do not keep it alive).
            let db = try files.database()
            let transfers = try db.prepare("SELECT COUNT(*) FROM transactions WHERE kind = 'transfer'").queryOne { $0.int64(0) }
            withExtendedLifetime(db) { #expect(transfers == 3) }
        }
    }

    struct FirstRun {
        let token: String
        let from: String
        let to: String
        let rent: JSONValue
        let car: JSONValue
    }

    /// alice pays bob twice with keys: 10.00 (`rent-2026-01`) and 1500.00 (`car-1`, no code asked in this run).
    static func payOnce(_ run: PersistentHub.Run) async throws -> FirstRun {
        let alice = try await run.client()
        let signup = try await alice.ok("signup", ["username": "alice", "password": password])
        let login = try await alice.ok("login", ["username": "alice", "password": password])
        let from = try #require(signup["account"]?["id"]?.stringValue)
        _ = try await alice.ok("deposit", ["account": .string(from), "amount": "2000.00"])
        let bob = try await run.client()
        let bobSignup = try await bob.ok("signup", ["username": "bob", "password": password])
        _ = try await bob.ok("login", ["username": "bob", "password": password])
        let to = try #require(bobSignup["account"]?["id"]?.stringValue)
        let rent = try await alice.ok("transfer", ["from": .string(from), "to": .string(to), "amount": "10.00",
                                                   "idempotency_key": "rent-2026-01"])
        let car = try await alice.ok("transfer", ["from": .string(from), "to": .string(to), "amount": "1500.00",
                                                  "idempotency_key": "car-1"])
        return FirstRun(token: try #require(login["token"]?.stringValue), from: from, to: to, rent: rent, car: car)
    }
}
