@testable import BankHub
import BankCore
import BankCrypto
import BankStorage
import BankStore
import Foundation
import Logging
import Testing
import WebSocketClient

/// A real hub on a database file that outlives it: for tests that stop the hub and start it again on the same
/// file (as `TestHub`, whose files go with the hub). `remove()` deletes the files at the end.
struct PersistentHub {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-persist-\(UUID().uuidString)")
    var databasePath: String { directory.appendingPathComponent("bank.sqlite").path }
    /// On a PostgreSQL run: the database every start uses, and the code key they share.
    let databaseName = "persist_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let codeKeyHex = Hex.encode(SecureRandom.bytes(32))

    /// The PostgreSQL database's URL (created on first use), or nil on an SQLite run.
    func databaseURL() throws -> String? {
        TestDatabase.isPostgres ? try TestDatabase.persistentDatabaseURL(databaseName) : nil
    }

    /// A started hub: the server and its port.
    struct Run {
        let server: HubServer
        let port: Int

        func client() async throws -> HubClient {
            HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
        }

        /// Waits until the janitor finished `count` passes (the first runs at start).
        func janitorPasses(_ count: Int) async throws {
            for _ in 0..<3_000 where server.janitor.completedPasses < count {
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(server.janitor.completedPasses >= count, "the janitor did not run")
        }
    }

    /// Starts a hub on the file, runs `body`, and always shuts the hub down (the file stays).
    func run<T>(configure: (inout HubServer.Options) -> Void = { _ in },
                _ body: (Run) async throws -> T) async throws -> T {
        var options = HubServer.Options()
        options.databasePath = databasePath
        options.transport.port = 0
        options.transport.httpIdleSeconds = TestHub.httpIdleSeconds
        options.transport.webRoot = TestHub.webRoot
        options.hub.passwordIterations = 1_000
        options.hub.adminKey = AdminKey(secret: TestHub.adminKey)
        if let url = try databaseURL() {
            try TestDatabase.prepare(&options, url: url)
            options.hub.codeKeyHex = codeKeyHex
        }
        configure(&options)
        var logger = Logger(label: "bankhub-test")
        logger.logLevel = .warning
        let server = try await HubServer.open(options, logger: logger)
        let runner = Task.detached { await server.run() }
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body(Run(server: server, port: try server.start())))
        } catch {
            outcome = .failure(error)
        }
        await server.shutdown()
        await runner.value
        return try outcome.get()
    }

    /// A read-write connection to the database, for setting up rows the protocol cannot (old times), or reading
    /// what is stored. Use it only while no hub runs, or for short writes (the busy timeout covers a commit).
    func database() throws -> any SQLDatabase {
        try TestDatabase.connection(path: databasePath, url: try databaseURL(), write: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
