import BankWire
import Synchronization
import Testing
import WebSocketClient

/// One client cannot stall the others: operations that wait for a commit are answered off the hub's shared
/// loop, money operations of one connection still enter the ledger in arrival order, and ops that hash a
/// password are limited per user and per address.
@Suite(.serialized) struct StallTests {
    /// Numbers completions in the order they happen, across tasks.
    final class CompletionOrder: Sendable {
        private let last = Mutex(0)

        func next() -> Int { last.withLock { $0 += 1; return $0 } }
    }

    /// Reads `count` replies from `connection` (skipping events); returns how many of them were errors with `code`.
    private static func replies(_ count: Int, from connection: WebSocketConnection, code: String) async throws -> Int {
        var matching = 0
        var seen = 0
        while seen < count {
            guard case .text(let text) = try await connection.receive(timeout: .seconds(30)) else { continue }
            let reply = try JSONParser.parse(text)
            guard reply["event"] == nil else { continue }
            seen += 1
            if reply["error"]?["code"]?.stringValue == code { matching += 1 }
        }
        return matching
    }

    /// A client pipelining 200 `confirm_otp` (each waits for a commit) does not hold up another client: its cheap
    /// `accounts` is answered while the flood is still being worked through (compared by completion order).
    @Test func floodOfCommitWaitingOpsDoesNotDelayOtherClients() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let floodCount = 200
            for index in 0..<floodCount {
                _ = try await alice.client.send("confirm_otp", ["challenge": .string("no-such-challenge-\(index)"),
                                                                "code": "123456"])
            }
            let order = CompletionOrder()
            let flooder = alice.client.connection
            async let flood = { () async throws -> (Int, Int) in
                let refused = try await Self.replies(floodCount, from: flooder, code: "otp_invalid")
                return (refused, order.next())
            }()
            let accounts = try await bob.client.ok("accounts")
            let cheapFinished = order.next()
            let (refused, floodFinished) = try await flood
            #expect(accounts["accounts"]?.arrayValue?.count == 1)
            #expect(refused == floodCount)
            #expect(cheapFinished < floodFinished, "accounts waited for the whole flood of confirm_otp")
        }
    }

    /// Money ops of one connection keep their arrival order around a `confirm_otp` that waits for its code's
    /// commit: a withdrawal pipelined right after the confirmation runs after the confirmed transfer.
    @Test func moneyOpsAfterAConfirmationWaitForIt() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: "1500.00")
            let bob = try await hub.customer("bob", deposit: nil)
            let before = try hub.lastOutboxID()
            let held = try await alice.client.request("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                                   "amount": "1000.00"])
            let challenge = try #require(held["error"]?["challenge"])
            let code = try await hub.code(to: "user:alice", after: before)
            let confirm = try await alice.client.send("confirm_otp", ["challenge": challenge, "code": .string(code)])
            let withdraw = try await alice.client.send("withdraw", ["account": .string(alice.account), "amount": "600.00"])
            let confirmed = try await alice.client.reply(to: confirm)
            let withdrawn = try await alice.client.reply(to: withdraw)
            #expect(confirmed["result"]?["balance"] == "500.00")
            #expect(withdrawn["error"]?["code"] == "insufficient_funds")
        }
    }

    /// `change_password` runs the password hash, so it spends the per-user hash bucket: a stolen session cannot
    /// keep the cores hashing.
    @Test func passwordHashingIsLimitedPerUser() async throws {
        try await TestHub.with(configure: { $0.hub.security.passwordHashUserRate = .perMinute(3, burst: 3) }) { hub in
            let alice = try await hub.customer("alice")
            var codes: [String?] = []
            for _ in 0..<4 {
                codes.append(try await alice.client.errorCode("change_password", ["old": "wrong password", "new": "whatever it is"]))
            }
            #expect(codes == ["forbidden", "forbidden", "forbidden", "rate_limited"])
        }
    }
}
