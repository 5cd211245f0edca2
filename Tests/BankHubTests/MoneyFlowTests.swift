import BankWire
import Testing

/// Deposits, withdrawals, transfers, idempotency, history and historical balances over real WebSockets.
@Suite(.serialized) struct MoneyFlowTests {
    /// Money moves exactly, replies carry the debited balance, and the stored ledger stays consistent.
    @Test func movesMoneyExactly() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "100.10")
            let bob = try await hub.customer("bob", deposit: nil)
            let sent = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                              "amount": "25.5", "note": "lunch"])
            #expect(sent["balance"] == "74.60")
            #expect(sent["txn"]?["amount"] == "25.50")
            #expect(sent["txn"]?["kind"] == "transfer")
            #expect(sent["txn"]?["note"] == "lunch")
            let withdrawn = try await bob.client.ok("withdraw", ["account": .string(bob.account), "amount": "0.50"])
            #expect(withdrawn["balance"] == "25.00")
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// Bad amounts and self-transfers are refused with their codes and change nothing.
    @Test func refusesBadMovements() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let account: JSONValue = .string(alice.account)
            for amount: JSONValue in [.number("12.5"), "12.345", "-1", "0", "1e2", "1000000000.01", ""] {
                #expect(try await alice.client.errorCode("deposit", ["account": account, "amount": amount]) == "invalid_amount")
            }
            #expect(try await alice.client.errorCode("transfer", ["from": account, "to": account, "amount": "1"]) == "same_account")
            #expect(try await alice.client.errorCode("withdraw", ["account": account, "amount": "100.01"]) == "insufficient_funds")
            #expect(try await alice.client.errorCode("transfer", ["from": account, "to": "999999", "amount": "1"]) == "not_found")
            #expect(try await alice.client.errorCode("deposit", ["amount": "1"]) == "bad_request")
            let balance = try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]
            #expect(balance == "100.00")
        }
    }

    /// A retry with the same idempotency key returns the original result and moves nothing; the same key
    /// with another amount is `conflict` naming the field.
    @Test func retriesWithIdempotencyKeyMoveMoneyOnce() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "10.00",
                                   "idempotency_key": "order-42"]
            let first = try await alice.client.ok("transfer", args)
            let again = try await alice.client.ok("transfer", args)
            #expect(again["txn"]?["id"] == first["txn"]?["id"])
            #expect(again["balance"] == "90.00")
            #expect(again["replayed"] == true)
            let changed: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "11.00",
                                      "idempotency_key": "order-42"]
            let conflict = try await alice.client.request("transfer", changed)
            #expect(conflict["error"]?["code"] == "conflict")
            #expect(conflict["error"]?["field"] == "amount")
            let bobBalance = try await bob.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]
            #expect(bobBalance == "10.00")
        }
    }

    /// History pages newest first with signed amounts and a cursor; balance_at includes an entry's own time.
    @Test func pagesHistoryAndAnswersHistoricalBalances() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "1.00")
            let account: JSONValue = .string(alice.account)
            for _ in 0..<4 { _ = try await alice.client.ok("deposit", ["account": account, "amount": "1.00"]) }
            _ = try await alice.client.ok("withdraw", ["account": account, "amount": "0.25"])
            let page1 = try await alice.client.ok("history", ["account": account, "limit": 4])
            let entries1 = page1["entries"]?.arrayValue ?? []
            #expect(entries1.map { $0["amount"]?.stringValue } == ["-0.25", "1.00", "1.00", "1.00"])
            #expect(entries1.first?["balance_after"] == "4.75")
            let cursor = try #require(page1["next"])
            let page2 = try await alice.client.ok("history", ["account": account, "limit": 4, "before": cursor])
            let entries2 = page2["entries"]?.arrayValue ?? []
            #expect(entries2.map { $0["balance_after"]?.stringValue } == ["2.00", "1.00"])
            #expect(page2["next"] == nil)
            let atFirst = try #require(entries2.last?["at"])
            #expect(try await alice.client.ok("balance_at", ["account": account, "at": atFirst])["balance"] == "1.00")
            #expect(try await alice.client.ok("balance_at", ["account": account, "at": "2000-01-01T00:00:00Z"])["balance"] == "0.00")
            #expect(try await alice.client.errorCode("history", ["account": account, "limit": 501]) == "bad_request")
        }
    }

    /// Many connections draining one account at once never overdraw it: exactly the money there was moves.
    @Test func concurrentTransfersNeverOverdraw() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "50.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let (token, from, to) = (alice.token, alice.account, bob.account)
            let outcomes = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let client = try await hub.client()
                        _ = try await client.ok("auth", ["token": .string(token)])
                        var ids: [Int] = []
                        for _ in 0..<20 {
                            ids.append(try await client.send("transfer", ["from": .string(from), "to": .string(to),
                                                                          "amount": "0.50"]))
                        }
                        var codes: [String] = []
                        for id in ids {
                            let reply = try await client.reply(to: id)
                            codes.append(reply["ok"] == true ? "ok" : reply["error"]?["code"]?.stringValue ?? "?")
                        }
                        client.close()
                        return codes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(outcomes.filter { $0 == "ok" }.count == 100)
            #expect(outcomes.filter { $0 == "insufficient_funds" }.count == 60)
            let balances = try await alice.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]
            #expect(balances == "0.00")
            #expect(try await bob.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "50.00")
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }
}
