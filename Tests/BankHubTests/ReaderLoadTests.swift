@testable import BankHub
import BankCore
import BankStorage
import BankStore
import BankWire
import Dispatch
import Foundation
import Testing

/// One client cannot monopolise the readers: a far-behind `subscribe` costs no read, a read past its step
/// budget is refused, and sign-in reads have a reader of their own.
@Suite(.serialized) struct ReaderLoadTests {
    /// `subscribe` with a `since` more than the replay cap behind the stream's head answers `resync_required`
    /// without reading the log: it is answered even while every general reader is busy.
    @Test func subscribeFarBehindAnswersResyncWithoutReadingTheLog() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let stream = StreamName.user(UserID(Int64(alice.userID)!))
            try await Self.append(10_050, eventsTo: stream, on: hub)

            let held = await Self.holdGeneralReaders(of: hub)
            let id = try? await alice.client.send("subscribe", ["stream": .string(stream.description), "since": 0])
            let reply = try? await alice.client.reply(to: try #require(id))
            await held.release()
            #expect(reply?["error"]?["code"] == "resync_required", "no answer while the readers were busy")

            let near = try await alice.client.ok("subscribe", ["stream": .string(stream.description), "since": 10_047])
            #expect(near["head"] == 10_050)
            #expect(try await alice.client.events(3).map { $0["seq"]?.int64Value } == [10_048, 10_049, 10_050])
        }
    }

    /// A read that needs more SQLite steps than the budget allows is answered `unavailable` ("narrow it");
    /// the same account's cheap reads are answered.
    @Test(.disabled(if: TestDatabase.isPostgres, "SQLite's step budget (statement_timeout: PostgresWriterTests)"))
    func readPastItsStepBudgetIsRefused() async throws {
        try await TestHub.with(configure: { $0.storage.readStepsMax = 20_000 }) { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            try await Self.deposit(10_000, centsEachTo: alice, on: hub)

            let far = try await alice.client.request("balance_at", ["account": .string(alice.account),
                                                                    "at": "2000-01-01T00:00:00Z"])
            #expect(far["error"]?["code"] == "unavailable")
            #expect(far["error"]?["message"]?.stringValue?.contains("narrow it") == true)
            let now = try await alice.client.ok("balance_at", ["account": .string(alice.account),
                                                               "at": .string(Clock.now().rfc3339)])
            #expect(now["balance"] == "100.00")
            let page = try await alice.client.ok("history", ["account": .string(alice.account), "limit": 5])
            #expect(page["entries"]?.arrayValue?.count == 5)
        }
    }

    /// While one connection floods the general readers with heavy reads, another's `login` and `auth` are
    /// answered before the flood is: sign-in reads run on a reader of their own.
    @Test(.disabled(if: TestDatabase.isPostgres,
                    "PostgreSQL answers these reads too fast to queue a flood here (lanes: PostgresWriterTests)"))
    func signInIsAnsweredWhileAnotherClientFloodsHeavyReads() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            try await Self.deposit(20_000, centsEachTo: alice, on: hub)
            let bob = try await hub.customer("bob", deposit: nil)
            let readers = hub.server.readers

            let floodSize = 400
            var flood: [Int] = []
            for _ in 0..<floodSize {
                flood.append(try await alice.client.send("balance_at", ["account": .string(alice.account),
                                                                        "at": "2000-01-01T00:00:00Z"]))
            }
            var waited = 0
            while readers.queuedReads(.general) < floodSize / 2, waited < 1_000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(readers.queuedReads(.general) >= floodSize / 2, "the flood never queued up")

            let login = try await hub.client()
            let auth = try await hub.client()
            let loginID = try await login.send("login", ["username": "bob", "password": "correct horse battery"])
            let authID = try await auth.send("auth", ["token": .string(bob.token)])
            let loginReply = try await login.reply(to: loginID)
            let queuedAtLogin = readers.queuedReads(.general)
            let authReply = try await auth.reply(to: authID)
            let queuedAtAuth = readers.queuedReads(.general)
            #expect(loginReply["ok"] == true)
            #expect(authReply["ok"] == true)
            #expect(queuedAtLogin > 0, "login waited for the flood to drain")
            #expect(queuedAtAuth > 0, "auth waited for the flood to drain")

            var answered = 0
            for id in flood where try await alice.client.reply(to: id)["ok"] == true { answered += 1 }
            #expect(answered == floodSize)
        }
    }

    // MARK: - helpers

    /// Appends `count` events to `stream` through the sequencer, as the hub's own events are.
    static func append(_ count: Int, eventsTo stream: StreamName, on hub: TestHub) async throws {
        let sequencer = hub.server.services.sequencer
        var left = count
        while left > 0 {
            let chunk = min(left, 1_000)
            left -= chunk
            let drafts = (0..<chunk).map { _ in EventDraft(stream: stream, kind: "note", data: ["text": "filler"]) }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                sequencer.submit(drafts, at: Clock.now(), completion: { continuation.resume() })
            }
        }
    }

    /// `count` deposits of one cent each to `customer`'s account, through the ledger.
    static func deposit(_ count: Int, centsEachTo customer: Customer, on hub: TestHub) async throws {
        let ledger = hub.server.ledger
        let request = MoneyRequest(command: .deposit(account: AccountID(Int64(customer.account)!), amount: Money(cents: 1)),
                                   user: UserID(Int64(customer.userID)!), note: nil, idempotencyKey: nil)
        for _ in 0..<(count - 1) { await ledger.submit(request, completion: { _ in }) }
        let last: Result<MoneyOutcome, BankError> = await withCheckedContinuation { continuation in
            Task { await ledger.submit(request, completion: { continuation.resume(returning: $0) }) }
        }
        _ = try last.get()
    }

    /// Occupies every general reader until `release()`.
    static func holdGeneralReaders(of hub: TestHub) async -> HeldReaders {
        let readers = hub.server.readers
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        var tasks: [Task<Void, any Error>] = []
        for _ in 0..<2 {
            tasks.append(Task { try await readers.read { _ in entered.signal(); gate.wait() } })
        }
        for _ in 0..<2 {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { entered.wait(); continuation.resume() }
            }
        }
        return HeldReaders(tasks: tasks, gate: gate)
    }
}

/// General readers held busy by a test until `release()`.
struct HeldReaders: Sendable {
    let tasks: [Task<Void, any Error>]
    let gate: DispatchSemaphore

    func release() async {
        for _ in tasks { gate.signal() }
        for task in tasks { _ = try? await task.value }
    }
}
