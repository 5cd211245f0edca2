import BankCrypto
@testable import BankHub
import BankPostgres
import BankStorage
import BankStore
import Foundation
import PostgresTestPeer
import Synchronization
import Testing

/// The engine the hub tests run on: SQLite (the default), or with `BANKHUB_TEST_DATABASE=postgres` a fresh
/// database per hub on one throwaway PostgreSQL server shared by the whole run, or with
/// `BANKHUB_TEST_DATABASE=postgres-pair` two hubs joined by a bus on each fresh database (`TestHub+Pair.swift`);
/// `scripts/test` runs the suite all three ways. Databases are not dropped when their hub stops: DROP DATABASE forces a checkpoint, and dozens of
/// them stalled every hub of the run for seconds; the server's directory goes at exit (a few MB per hub). Tests that are about SQLite itself skip themselves there with `.disabled(if: TestDatabase.isPostgres, …)`;
/// tests about one hub's insides skip the pair run with `.disabled(if: TestDatabase.isPair, …)`.
enum TestDatabase {
    private static let mode = ProcessInfo.processInfo.environment["BANKHUB_TEST_DATABASE"]
    /// The run is on PostgreSQL (one hub or a pair per database).
    static let isPostgres = mode == "postgres" || mode == "postgres-pair"
    /// Each `TestHub` is two hubs on one PostgreSQL database joined by NATS, connections alternating between them.
    static let isPair = mode == "postgres-pair"

    /// The shared server: started on first use, stopped when the test process exits.
    private static let server: Result<PostgresPeer, any Error> = {
        Result {
            // Many hubs run at once, each with a writer, three readers and an outbox worker session; a hub of
            // several has its ledger's, claims', head check's and gap reader's sessions too, and the suites of
            // several hubs (two per test) run beside each other in every mode (400 ran out in CI).
            let peer = try PostgresPeer.start(maxConnections: isPair ? 1_600 : 1_000)
            atexit { TestDatabase.stopServer() }
            return peer
        }
    }()

    private static func stopServer() {
        if case .success(let peer) = server { peer.stop() }
    }

    private static let next = Atomic<Int>(0)

    /// A new empty database on the shared server, as a libpq URL.
    static func freshDatabaseURL() throws -> String {
        let name = "hub_\(getpid())_\(next.wrappingAdd(1, ordering: .relaxed).oldValue)"
        try createDatabase(name)
        return try url(name)
    }

    /// The URL of database `name`, created when missing (for hubs restarted on the same database).
    static func persistentDatabaseURL(_ name: String) throws -> String {
        do {
            try createDatabase(name)
        } catch let error as PostgresError where error.sqlState == "42P04" {
            // Created by an earlier run of the same test.
        }
        return try url(name)
    }

    private static func createDatabase(_ name: String) throws {
        let peer = try server.get()
        let admin = try PostgresHubDatabase.connect(peer.conninfo)
        try admin.execute("CREATE DATABASE \(name)")
    }

    private static func url(_ name: String) throws -> String {
        "postgresql://postgres@127.0.0.1:\(try server.get().port)/\(name)?connect_timeout=5"
    }

    /// Points `options` at the engine of this run: nothing to do for SQLite; for PostgreSQL, `databaseURL`
    /// (`url`, or a fresh database) and a code key (PostgreSQL hubs keep it outside the database).
    static func prepare(_ options: inout HubServer.Options, url: String? = nil) throws {
        guard isPostgres else { return }
        options.databaseURL = try url ?? freshDatabaseURL()
        options.hub.codeKeyHex = Hex.encode(SecureRandom.bytes(32))
    }

    /// A connection of its own to the hub's database (`url` for PostgreSQL, else the SQLite file at `path`), for
    /// setting up what the protocol cannot (old times, roles) or reading what is stored.
    static func connection(path: String, url: String?, write: Bool) throws -> any SQLDatabase {
        if let url { return try PostgresHubDatabase.connect(url) }
        return try SQLiteConnection(path: path, mode: write ? .readWrite : .readOnly)
    }
}
