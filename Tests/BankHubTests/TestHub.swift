import BankCore
import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Logging
import Synchronization
import Testing
import WebSocketClient

/// The real hub (libwebsockets server, SQLite file or PostgreSQL database (`TestDatabase`), group-commit writer)
/// on an ephemeral port with a temporary database. Tests talk to it only over real WebSockets.
///
/// In the pair run (`TestDatabase.isPair`) it is two hubs on one PostgreSQL database joined by a real
/// nats-server (`TestHub+Pair.swift`): `port`, and with it `client()` and every HTTP helper, alternates between
/// them, so consecutive connections of a test land on different hubs. `server` is the first hub.
///
/// New password hashes use 1,000 PBKDF2 iterations instead of 600,000 so that sign-ups take microseconds;
/// the code path is the same.
final class TestHub: Sendable {
    /// The first hub (the only one outside the pair run).
    let server: HubServer
    /// Every hub of this test, in start order, and their ports.
    let servers: [HubServer]
    let ports: [Int]
    let directory: URL
    /// The hub's PostgreSQL database, when the run is on PostgreSQL (`TestDatabase.isPostgres`).
    let databaseURL: String?
    private let runners: [Task<Void, Never>]
    /// The pair's nats-server (nil outside the pair run).
    private let bus: TestBus?
    /// How many ports `port` has handed out: the next one goes to hub `turns % ports.count`.
    private let turns = Atomic<Int>(0)

    var databasePath: String { directory.appendingPathComponent("bank.sqlite").path }

    /// The port of the hub the next connection goes to: always the one hub, or in the pair run the hubs in turn.
    var port: Int {
        ports.count == 1 ? ports[0] : ports[turns.wrappingAdd(1, ordering: .relaxed).oldValue % ports.count]
    }

    static let webRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("web").path

    private init(servers: [HubServer], ports: [Int], directory: URL, databaseURL: String?, bus: TestBus?) {
        self.server = servers[0]
        self.servers = servers
        self.ports = ports
        self.databaseURL = databaseURL
        self.directory = directory
        self.bus = bus
        runners = servers.map { server in Task.detached { await server.run() } }
    }

    /// Starts a hub (a pair of hubs in the pair run), runs `body` against it, and always shuts it down and removes
    /// its files. `logger`: where the hub logs (default: warnings and worse to the console).
    static func with<T>(configure: (inout HubServer.Options) -> Void = { _ in }, logger: Logger? = nil,
                        _ body: (TestHub) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-hub-\(UUID().uuidString)")
        var options = HubServer.Options()
        options.databasePath = directory.appendingPathComponent("bank.sqlite").path
        options.transport.port = 0
        options.transport.httpIdleSeconds = TestHub.httpIdleSeconds
        options.transport.webRoot = webRoot
        options.hub.passwordIterations = 1_000
        options.hub.adminKey = AdminKey(secret: TestHub.adminKey)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try TestDatabase.prepare(&options)
        let bus = TestDatabase.isPair ? try await TestBus.start() : nil
        bus?.join(&options)
        configure(&options)
        let logger = logger ?? {
            var logger = Logger(label: "bankhub-test")
            logger.logLevel = .warning
            return logger
        }()
        let hub = try await start(bus.map { $0.pair(options) } ?? [options], logger: logger, directory: directory,
                                  databaseURL: options.databaseURL, bus: bus)
        do {
            let result = try await body(hub)
            await hub.stop()
            return result
        } catch {
            await hub.stop()
            throw error
        }
    }

    /// Opens and starts a hub for each of `options`, one after the other; what was started is shut down if a
    /// later one fails.
    private static func start(_ options: [HubServer.Options], logger: Logger, directory: URL, databaseURL: String?,
                              bus: TestBus?) async throws -> TestHub {
        var servers: [HubServer] = [], ports: [Int] = []
        do {
            for hubOptions in options {
                let server = try await HubServer.open(hubOptions, logger: logger)
                servers.append(server)
                ports.append(try server.start())
            }
        } catch {
            for server in servers.reversed() { await server.shutdown() }
            bus?.stop()
            throw error
        }
        return TestHub(servers: servers, ports: ports, directory: directory, databaseURL: databaseURL, bus: bus)
    }

    func stop() async {
        for server in servers.reversed() { await server.shutdown() }
        for runner in runners { await runner.value }
        bus?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A connection of its own to the hub's database, whichever the engine, for reading what is stored or
    /// setting up what the protocol cannot.
    func database(write: Bool = false) throws -> any SQLDatabase {
        try TestDatabase.connection(path: databasePath, url: databaseURL, write: write)
    }

    func client() async throws -> HubClient {
        HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
    }

    /// A signed-up, logged-in customer with one account (the one sign-up opens) holding `deposit`.
    func customer(_ name: String, deposit: String? = "100.00") async throws -> Customer {
        let client = try await client()
        let signup = try await client.ok("signup", ["username": .string(name), "password": "correct horse battery"])
        let login = try await client.ok("login", ["username": .string(name), "password": "correct horse battery"])
        let account = signup["account"]?["id"]?.stringValue ?? ""
        if let deposit {
            _ = try await client.ok("deposit", ["account": .string(account), "amount": .string(deposit)])
        }
        return Customer(client: client, token: login["token"]?.stringValue ?? "", account: account,
                        userID: login["user"]?["id"]?.stringValue ?? "")
    }

    /// The admin step-up key every test hub is started with.
    static let adminKey = "test-admin-key"
    /// The time a test's connection may take to its next request head: the whole suite in parallel on two
    /// cores can hold a client back for seconds, and the production 5 s would close it under the test.
    static let httpIdleSeconds = 60

    /// Reads the stored ledger's invariant violations (empty when every balance equals its postings).
    func ledgerViolations() throws -> [String] {
        try LedgerRecords.violations(try database())
    }
}

struct Customer {
    let client: HubClient
    let token: String
    let account: String
    let userID: String
}
