import BankStore
import BankWire
import Foundation
import Testing
import WebSocketClient

/// The real `bankhub` executable, killed with SIGKILL while transfers are in flight, keeps every transfer
/// it acknowledged: nothing acknowledged is lost, nothing is half-applied, money is conserved.
@Suite(.serialized) struct CrashRecoveryTests {
    /// The `bankhub` binary built next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("bankhub")
    }

    /// Starts `bankhub serve` on a free port and returns the process and its port, read from its stdout.
    static func launch(database: String) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--db", database, "--web", TestHub.webRoot,
                             "--password-iterations", "1000", "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var buffer = ""
        while !buffer.contains("listening on http://") || !buffer.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw HubClient.Failure(reply: .string("bankhub exited: \(buffer)")) }
            buffer += String(decoding: chunk, as: UTF8.self)
        }
        let afterHost = buffer.components(separatedBy: "http://127.0.0.1:")[1]
        guard let port = Int(afterHost.prefix { $0.isNumber }) else { throw HubClient.Failure(reply: .string(buffer)) }
        return (process, port)
    }

    @Test func keepsEveryAcknowledgedTransferAcrossKill9() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("bank.sqlite").path
        let (first, port) = try Self.launch(database: database)
        let client = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        let aliceSignup = try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])
        let bobSignup = try await client.ok("signup", ["username": "bob", "password": "correct horse battery"])
        let bobClient = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await bobClient.ok("login", ["username": "bob", "password": "correct horse battery"])
        let bobAccount = try #require(bobSignup["account"]?["id"])
        let login = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
        let aliceAccount = try #require(aliceSignup["account"]?["id"])
        _ = try await client.ok("deposit", ["account": aliceAccount, "amount": "1000.00"])

        // Pipeline transfers, then kill the process while many are still unanswered.
        var sent: [Int: String] = [:]
        for index in 0..<400 {
            let key = "crash-\(index)"
            let id = try await client.send("transfer", ["from": aliceAccount, "to": bobAccount, "amount": "1.00",
                                                        "idempotency_key": .string(key)])
            sent[id] = key
        }
        var acknowledged: [String: JSONValue] = [:]
        for id in sent.keys.sorted() {
            if acknowledged.count == 150 { break }
            let reply = try await client.reply(to: id)
            #expect(reply["ok"] == true)
            acknowledged[sent[id]!] = reply["result"]?["txn"]?["id"]
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let (second, port2) = try Self.launch(database: database)
        defer { second.terminate(); second.waitUntilExit() }
        let again = HubClient(try await WebSocketConnection.connect(port: port2, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await again.ok("auth", ["token": try #require(login["token"])])
        for (key, txn) in acknowledged {
            let retry = try await again.ok("transfer", ["from": aliceAccount, "to": bobAccount, "amount": "1.00",
                                                        "idempotency_key": .string(key)])
            #expect(retry["replayed"] == true, "acknowledged transfer \(key) was lost")
            #expect(retry["txn"]?["id"] == txn)
        }
        let balance = try #require(try await again.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]?.stringValue)
        let bobBalance = try #require(try await bobClient2(port2, bobAccount).stringValue)
        let aliceCents = Int(balance.replacingOccurrences(of: ".", with: ""))!
        let bobCents = Int(bobBalance.replacingOccurrences(of: ".", with: ""))!
        #expect(aliceCents + bobCents == 100_000, "money was created or lost")
        #expect(bobCents >= 15_000, "fewer transfers survived than were acknowledged")
        let connection = try SQLiteConnection(path: database, mode: .readOnly)
        #expect(try LedgerRecords.violations(connection).isEmpty)
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

    private func bobClient2(_ port: Int, _ account: JSONValue) async throws -> JSONValue {
        let bob = HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        _ = try await bob.ok("login", ["username": "bob", "password": "correct horse battery"])
        let accounts = try await bob.ok("accounts")["accounts"]?.arrayValue ?? []
        return accounts.first { $0["id"] == account }?["balance"] ?? .null
    }
}
