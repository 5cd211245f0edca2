import BankStorage
import BankStore
import BankWire
import BankCore
import Foundation
import Synchronization
import Testing
import WebSocketClient

/// The real `bankhub` executable, killed with SIGKILL at seeded random moments of a storm of transfers and
/// sign-ups, keeps every write it acknowledged: nothing acknowledged is lost, nothing is half-applied, money is
/// conserved, and the next start's ledger check passes.
@Suite(.serialized, .disabled(if: TestDatabase.isPostgres, "kill -9 of SQLite hub processes (bankhub serve --db)"))
struct CrashRecoveryTests {
    /// The `bankhub` binary built next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bankhub")
    }

    /// Starts `bankhub serve` on a free port and returns the process and its port, read from its stdout.
    static func launch(database: String, _ extra: [String] = []) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--db", database, "--web", TestHub.webRoot,
                             "--password-iterations", "1000", "--log-level", "warning"] + extra
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var buffer = ""
        while !buffer.contains("listening on http://") || !buffer.hasSuffix("\n") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw HubClient.Failure(reply: .string("bankhub exited: \(buffer)")) }
            buffer += String(decoding: chunk, as: UTF8.self)
        }
        let afterHost = buffer.components(separatedBy: "http://127.0.0.1:")[1]
        guard let port = Int(afterHost.prefix { $0.isNumber }) else { throw HubClient.Failure(reply: .string(buffer)) }
        return (process, port)
    }

    /// Transfers (and sign-ups beside them) stream into the real process; it gets SIGKILL at a seeded random
    /// point of the storm. At the next start (which runs the ledger check and refuses a violation) every
    /// acknowledged transfer is there with its original txn id and a retry of its key replays it, nothing that
    /// was refused is there, every acknowledged sign-up is there, and money is conserved.
    @Test(arguments: [101, 202, 303, 404, 505] as [UInt64])
    func keepsEveryAcknowledgedWriteAcrossKill9(seed: UInt64) async throws {
        // Where the kill lands: after a seeded number of replies, then a seeded delay (progress, not wall time,
        // so a loaded machine moves the moment but not the point of the storm).
        var random = SplitMix64(seed: seed)
        let killAfterReplies = 1 + Int(random.next() % 600)
        let killDelayMilliseconds = Int(random.next() % 40)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("bank.sqlite").path
        let (first, port) = try Self.launch(database: database)
        let client = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        let aliceSignup = try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])
        let bobSignup = try await client.ok("signup", ["username": "bob", "password": "correct horse battery"])
        let bobAccount = try #require(bobSignup["account"]?["id"]?.stringValue)
        let login = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
        let aliceAccount = try #require(aliceSignup["account"]?["id"]?.stringValue)
        _ = try await client.ok("deposit", ["account": .string(aliceAccount), "amount": "1000.00"])
        let signUps = try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1")

        let killed = Atomic<Bool>(false)
        let pid = first.processIdentifier
        let replies = ReplyCounter()
        let killer = Task {
            for _ in 0..<2_000 where replies.value < killAfterReplies { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(killDelayMilliseconds))
            killed.store(true, ordering: .releasing)
            kill(pid, SIGKILL)
        }
        let stopped: @Sendable () -> Bool = { killed.load(ordering: .acquiring) }
        let transfers = client.connection
        async let transferStorm = pipeline(transfers, total: 20_000, window: 32, answered: replies,
                                           stopped: stopped) { n in
            ("transfer", ["from": .string(aliceAccount), "to": .string(bobAccount), "amount": "0.01",
                          "idempotency_key": .string("crash-\(seed)-\(n)")])
        }
        async let signUpStorm = pipeline(signUps, total: 2_000, window: 8, stopped: stopped) { n in
            ("signup", ["username": .string("crash\(seed)x\(n)"), "password": "correct horse battery"])
        }
        let (sent, joined) = try await (transferStorm, signUpStorm)
        try await killer.value
        first.waitUntilExit()
        let acknowledged = sent.filter(\.succeeded)
        #expect(!acknowledged.isEmpty, "nothing was acknowledged before the kill")
        #expect(sent.count < 20_000, "the storm was over before the kill")

        // The next start runs the ledger check and refuses to start on a violation.
        let (second, port2) = try Self.launch(database: database)
        defer { second.terminate(); second.waitUntilExit() }
        let db = try SQLiteConnection(path: database, mode: .readOnly)
        #expect(try LedgerRecords.violations(db).isEmpty)
        let balances = try [aliceAccount, bobAccount].map { account in
            try db.prepare("SELECT balance FROM accounts WHERE id = ?").queryOne(Int64(account)!) { $0.int64(0) } ?? -1
        }
        #expect(balances.reduce(0, +) == 100_000, "money was created or lost: \(balances)")
        for transfer in sent where transfer.reply != nil {
            let key = try #require(transfer.args["idempotency_key"]?.stringValue)
            let stored = try db.prepare("SELECT id FROM transactions WHERE idempotency_key = ?").queryOne(key) { $0.int64(0) }
            if transfer.succeeded {
                #expect(stored.map { String($0) } == transfer.reply?["result"]?["txn"]?["id"]?.stringValue,
                        "acknowledged transfer \(key) was lost or changed its txn id")
            } else {
                #expect(stored == nil, "refused transfer \(key) is on disk")
            }
        }
        let users = Set(try db.prepare("SELECT username FROM users").query { $0.string(0) })
        for signUp in joined where signUp.succeeded {
            #expect(users.contains(signUp.args["username"]?.stringValue ?? ""), "an acknowledged sign-up was lost")
        }

        // A retry of every acknowledged key replays the original transaction.
        let again = try await WebSocketConnection.connect(port: port2, path: "/ws", subprotocol: "bankhub.v1")
        let auth = HubClient(again)
        _ = try await auth.ok("auth", ["token": try #require(login["token"])])
        let retries = try await pipeline(again, total: acknowledged.count, window: 32, stopped: { false }) { n in
            ("transfer", acknowledged[n].args)
        }
        for (retry, original) in zip(retries, acknowledged) {
            #expect(retry.reply?["result"]?["replayed"] == true, "acknowledged transfer was lost")
            #expect(retry.reply?["result"]?["txn"]?["id"] == original.reply?["result"]?["txn"]?["id"])
        }
    }

    /// SIGTERM stops the real process gracefully: connections get 1001, the exit status is 0, and what was
    /// committed is there on the next start.
    @Test func shutsDownOnSigterm() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-term-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("bank.sqlite").path
        let (process, port) = try Self.launch(database: database)
        let client = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])
        kill(process.processIdentifier, SIGTERM)
        #expect(try await client.receiveRaw(timeout: .seconds(10)) == .close(code: 1001, reason: "server shutting down"))
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let (again, port2) = try Self.launch(database: database)
        defer { again.terminate(); again.waitUntilExit() }
        let second = HubClient(try await WebSocketConnection.connect(port: port2, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await second.ok("login", ["username": "alice", "password": "correct horse battery"])
    }
}
