import BankWire
import Testing

/// Live push and resume: events reach every subscriber, in seq order, and a reconnecting client catches up
/// with no gap and no duplicate.
@Suite(.serialized) struct StreamTests {
    /// A transfer made on one connection is pushed to the payee's other connection and the payer's.
    @Test func pushesToSecondConnection() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let bobScreen = try await hub.client()
            _ = try await bobScreen.ok("auth", ["token": .string(bob.token)])
            let sub = try await bobScreen.ok("subscribe", ["stream": .string("account:\(bob.account)")])
            let head = try #require(sub["head"]?.int64Value)
            let sent = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                              "amount": "12.34"])
            let events = try await bobScreen.events(2)
            #expect(events.map { $0["event"]?.stringValue } == ["balance", "transfer"])
            #expect(events.map { $0["seq"]?.int64Value } == [head + 1, head + 2])
            #expect(events[0]["data"]?["balance"] == "12.34")
            #expect(events[1]["data"]?["txn"] == sent["txn"]?["id"])
            #expect(events[1]["data"]?["status"] == "completed")
        }
    }

    /// A rejected transfer is pushed to the payer's stream as `rejected` with the reason, and moves nothing.
    @Test func pushesRejectedTransfers() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "1.00")
            let bob = try await hub.customer("bob", deposit: nil)
            _ = try await alice.client.ok("subscribe", ["stream": .string("account:\(alice.account)")])
            #expect(try await alice.client.errorCode("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                  "amount": "5.00"]) == "insufficient_funds")
            let event = try await alice.client.nextEvent()
            #expect(event["event"] == "transfer")
            #expect(event["data"]?["status"] == "rejected")
            #expect(event["data"]?["reason"] == "insufficient_funds")
        }
    }

    /// After a disconnect, `subscribe` with the last seen seq replays exactly the missed events in order, then
    /// goes live; replayed events are byte-for-byte what live subscribers received.
    @Test func resumesFromLastSeqAfterReconnect() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let stream: JSONValue = .string("account:\(bob.account)")
            let watcher = try await hub.client()
            _ = try await watcher.ok("auth", ["token": .string(bob.token)])
            _ = try await watcher.ok("subscribe", ["stream": stream, "since": 0])
            let screen = try await hub.client()
            _ = try await screen.ok("auth", ["token": .string(bob.token)])
            _ = try await screen.ok("subscribe", ["stream": stream])
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00"])
            let seen = try await screen.events(2)
            let lastSeen = try #require(seen.last?["seq"]?.int64Value)
            screen.close()
            for _ in 0..<5 {
                _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00"])
            }
            let resumed = try await hub.client()
            _ = try await resumed.ok("auth", ["token": .string(bob.token)])
            let sub = try await resumed.ok("subscribe", ["stream": stream, "since": .integer(lastSeen)])
            #expect(sub["head"]?.int64Value == lastSeen + 10)
            let missed = try await resumed.events(10)
            #expect(missed.map { $0["seq"]?.int64Value } == (1...10).map { lastSeen + Int64($0) })
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00"])
            let live = try await resumed.events(2)
            #expect(live.map { $0["seq"]?.int64Value } == [lastSeen + 11, lastSeen + 12])
            let watched = try await watcher.events(14)
            #expect(watched.suffix(12) == missed + live)
            #expect(resumed.events.isEmpty)
        }
    }

    /// The payer's stream mixes events derived from postings (balance, completed transfer) with a rejected
    /// transfer stored as an event row: a replay from any seq gives exactly what the live subscriber got.
    @Test func replaysPayerStreamWithRejectedTransfer() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "10.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let stream: JSONValue = .string("account:\(alice.account)")
            let watcher = try await hub.client()
            _ = try await watcher.ok("auth", ["token": .string(alice.token)])
            _ = try await watcher.ok("subscribe", ["stream": stream, "since": 0])
            let pay: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "3.00"]
            _ = try await alice.client.ok("transfer", pay)
            #expect(try await alice.client.errorCode("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                  "amount": "50.00"]) == "insufficient_funds")
            _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "1.00"])
            _ = try await alice.client.ok("transfer", pay)
            let live = try await watcher.events(7)
            #expect(live.map { $0["seq"]?.int64Value } == (1...7).map { Int64($0) })
            #expect(live.map { $0["event"]?.stringValue } == ["balance", "balance", "transfer", "transfer", "balance",
                                                              "balance", "transfer"])
            #expect(live[3]["data"]?["status"] == "rejected")
            for since in [0, 2, 3, 4] {
                let resumed = try await hub.client()
                _ = try await resumed.ok("auth", ["token": .string(alice.token)])
                let sub = try await resumed.ok("subscribe", ["stream": stream, "since": .integer(Int64(since))])
                #expect(sub["head"]?.int64Value == 7)
                #expect(try await resumed.events(7 - since) == Array(live.dropFirst(since)))
                resumed.close()
            }
        }
    }

    /// Resuming from a seq past the head, or replaying more than the limit, is `resync_required`.
    @Test func asksForResyncWhenTooFarBehind() async throws {
        try await TestHub.with(configure: { $0.hub.replayEventsMax = 3 }) { hub in
            let alice = try await hub.customer("alice")
            let stream: JSONValue = .string("account:\(alice.account)")
            for _ in 0..<3 { _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1"]) }
            #expect(try await alice.client.errorCode("subscribe", ["stream": stream, "since": 0]) == "resync_required")
            #expect(try await alice.client.errorCode("subscribe", ["stream": stream, "since": 999]) == "resync_required")
            _ = try await alice.client.ok("subscribe", ["stream": stream, "since": 2])
            #expect(try await alice.client.events(2).map { $0["seq"]?.int64Value } == [3, 4])
            #expect(try await alice.client.errorCode("subscribe", ["stream": "nonsense"]) == "bad_request")
        }
    }

    /// After `unsubscribe`, no more events arrive for that stream.
    @Test func stopsAfterUnsubscribe() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let stream: JSONValue = .string("account:\(alice.account)")
            _ = try await alice.client.ok("subscribe", ["stream": stream])
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1"])
            _ = try await alice.client.events(1)
            _ = try await alice.client.ok("unsubscribe", ["stream": stream])
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1"])
            _ = try await alice.client.ok("accounts")
            #expect(alice.client.events.isEmpty)
        }
    }
}
