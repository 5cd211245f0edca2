@testable import BankHub
import BankCore
import BankStorage
import BankStore
import BankWire
import CSQLiteFaults
import Foundation
import Synchronization
import Testing
import WebSocketClient

/// The disk fails in the middle of a storm of transfers, sign-ups and logins: it fills up (max_page_count on
/// the writer's connection), a write fails, or an fsync fails (the fault-injecting VFS of `CSQLiteFaults`).
/// Whatever the hub does then (fail the batch and go on, or fail-stop), the next start finds money conserved,
/// the ledger whole, every acknowledged transfer, sign-up and session present, and nothing that was refused.
@Suite(.serialized, .disabled(if: TestDatabase.isPostgres, "SQLite's fault-injecting VFS"))
struct FaultInjectionTests {
    enum Fault: Sendable {
        /// The database may grow by this many pages more, then SQLITE_FULL.
        case diskFull(pagesMore: Int64)
        /// The Nth write of the writer's connection after the storm starts fails (SQLITE_IOERR_WRITE).
        case writeFails(nth: Int64)
        /// The Nth fsync of the writer's connection after the storm starts fails (SQLITE_IOERR_FSYNC).
        case fsyncFails(nth: Int64)

        var usesFaultVFS: Bool {
            if case .diskFull = self { return false }
            return true
        }
    }

    static let password: JSONValue = "correct horse battery"
    static let customers = 4
    static let depositCents = 10_000

    /// The disk fills up at a seeded point of the storm.
    @Test(arguments: [11, 12, 13] as [UInt64]) func diskFillsUpDuringAStorm(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        try await storm(seed: seed, fault: .diskFull(pagesMore: Int64(8 + random.next() % 32)))
    }

    /// A write of the writer's connection fails at a seeded point of the storm (usually inside a COMMIT).
    @Test(arguments: [21, 22, 23] as [UInt64]) func writeFailsDuringAStorm(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        try await storm(seed: seed, fault: .writeFails(nth: Int64(100 + random.next() % 900)))
    }

    /// An fsync of the writer's connection fails at a seeded point of the storm: the writer fail-stops.
    /// The fault comes after the 7th fsync at the earliest: a commit may take two (the WAL's new header when the
    /// writer restarts a WAL the checkpointer fully copied, then the commit's own), the outbox worker's commits
    /// take theirs too, and `check` wants some transfer acknowledged before the fault.
    @Test(arguments: [31, 32] as [UInt64]) func fsyncFailsDuringAStorm(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        try await storm(seed: seed, fault: .fsyncFails(nth: Int64(8 + random.next() % 12)))
    }

    /// A full disk fails sign-ups with `unavailable` and changes nothing; once there is room again the same
    /// hub (no restart) signs them up: the writer went on after the failed batches.
    @Test func fullDiskFailsSignUpsAndTheHubGoesOnOnceThereIsRoom() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let hub = try await FaultHub.start(in: directory) { $0.hub.security.rateLimitsEnabled = false }
        try await Self.limitGrowth(of: hub, toPagesMore: 0)
        let connection = try await hub.connection()
        let signUps = try await pipeline(connection, total: 400, window: 4, stopped: { false }) { index in
            ("signup", ["username": .string("full\(index)"), "password": Self.password])
        }
        let refused = signUps.filter(\.failed)
        #expect(!refused.isEmpty, "the disk never filled up")
        #expect(refused.allSatisfy { $0.reply?["error"]?["code"] == "unavailable" })
        #expect(!hub.isHalted)
        #expect(hub.stops.isEmpty)

        try await hub.server.writer.write { db in try db.execute("PRAGMA max_page_count = 1073741823") }
        let client = try await hub.client()
        for request in refused {
            _ = try await client.ok("signup", ["username": try #require(request.args["username"]), "password": Self.password])
        }
        await hub.stop()

        let again = try await FaultHub.start(in: directory)
        defer { Task { await again.stop() } }
        let users = try Self.usernames(directory)
        for request in signUps {
            let name = try #require(request.args["username"]?.stringValue)
            #expect(users.contains(name))
        }
        await again.stop()
    }

    // MARK: - the storm

    private func storm(seed: UInt64, fault: Fault) async throws {
        let directory = Self.temporaryDirectory()
        let prefix = directory.path
        defer {
            bankhub_faults_disarm(prefix)
            try? FileManager.default.removeItem(at: directory)
        }
        if fault.usesFaultVFS { #expect(bankhub_faults_register() == 0) }
        let hub = try await FaultHub.start(in: directory) { options in
            options.hub.security.rateLimitsEnabled = false
            if fault.usesFaultVFS { options.storage.vfs = String(cString: bankhub_faults_vfs_name()) }
        }
        let accounts = try await Self.setUp(hub)
        let connections = try await Self.stormConnections(hub)

        switch fault {
        case .diskFull(let pages): try await Self.limitGrowth(of: hub, toPagesMore: pages)
        case .writeFails(let nth): #expect(bankhub_faults_arm(prefix, Int32(BANKHUB_FAULT_WRITE), nth) == 0)
        case .fsyncFails(let nth): #expect(bankhub_faults_arm(prefix, Int32(BANKHUB_FAULT_SYNC), nth) == 0)
        }
        let requests = try await Self.run(hub, connections, seed: seed, accounts: accounts)
        switch fault {
        case .diskFull: #expect(hub.server.writer.failures.count > 0, "the disk never filled up")
        case .writeFails, .fsyncFails: #expect(bankhub_faults_fired(prefix) == 1, "the fault never fired")
        }
        if case .fsyncFails = fault { #expect(hub.isHalted, "an fsync failure must stop the writer") }
        await hub.stop()

        // The next start checks the ledger (it refuses to start on a violation) and loads it.
        let again = try await FaultHub.start(in: directory)
        try await Self.check(requests, accounts: accounts, on: again, directory: directory)
        await again.stop()
    }

    /// Four customers with 100.00 each, and a user whose logins the storm repeats. Returns the accounts.
    private static func setUp(_ hub: FaultHub) async throws -> [String] {
        let client = try await hub.client()
        var accounts: [String] = []
        for index in 0..<customers {
            let name: JSONValue = .string("customer\(index)")
            let signUp = try await client.ok("signup", ["username": name, "password": password])
            _ = try await client.ok("login", ["username": name, "password": password])
            let account = try #require(signUp["account"]?["id"]?.stringValue)
            _ = try await client.ok("deposit", ["account": .string(account), "amount": "100.00"])
            accounts.append(account)
        }
        _ = try await client.ok("signup", ["username": "watcher", "password": password])
        return accounts
    }

    /// The storm's connections, one per customer (logged in), one for sign-ups and one for logins; opened
    /// before the fault is armed.
    private static func stormConnections(_ hub: FaultHub) async throws -> [WebSocketConnection] {
        var connections: [WebSocketConnection] = []
        for index in 0..<customers {
            let client = try await hub.client()
            _ = try await client.ok("login", ["username": .string("customer\(index)"), "password": password])
            connections.append(client.connection)
        }
        connections.append(try await hub.connection())
        connections.append(try await hub.connection())
        return connections
    }

    /// Transfers around the ring of customers, sign-ups and logins, all pipelined at once.
    private static func run(_ hub: FaultHub, _ connections: [WebSocketConnection], seed: UInt64,
                            accounts: [String]) async throws -> [StormRequest] {
        let halted: @Sendable () -> Bool = { hub.isHalted }
        return try await withThrowingTaskGroup(of: [StormRequest].self) { group in
            for (index, from) in accounts.enumerated() {
                let connection = connections[index]
                let to = accounts[(index + 1) % accounts.count]
                group.addTask {
                    try await pipeline(connection, total: 250, window: 16, stopped: halted) { n in
                        var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(index * 100_000 + n))
                        let cents = 1 + random.next() % 99
                        return ("transfer", ["from": .string(from), "to": .string(to),
                                             "amount": .string("0.\(cents < 10 ? "0" : "")\(cents)"),
                                             "idempotency_key": .string("storm-\(seed)-\(index)-\(n)")])
                    }
                }
            }
            let signUps = connections[customers]
            group.addTask {
                try await pipeline(signUps, total: 150, window: 8, stopped: halted) { n in
                    ("signup", ["username": .string("storm\(seed)x\(n)"), "password": password])
                }
            }
            let logins = connections[customers + 1]
            group.addTask {
                try await pipeline(logins, total: 60, window: 4, stopped: halted) { _ in
                    ("login", ["username": "watcher", "password": password])
                }
            }
            var all: [StormRequest] = []
            for try await requests in group { all += requests }
            return all
        }
    }

    /// What the restarted hub and its file must show.
    private static func check(_ requests: [StormRequest], accounts: [String], on hub: FaultHub,
                              directory: URL) async throws {
        let db = try SQLiteConnection(path: FaultHub.database(in: directory), mode: .readOnly)
        #expect(try LedgerRecords.violations(db).isEmpty)
        let balances = try accounts.map { account in
            try db.prepare("SELECT balance FROM accounts WHERE id = ?").queryOne(Int64(account)!) { $0.int64(0) } ?? -1
        }
        #expect(balances.reduce(0, +) == Int64(customers * depositCents), "money was created or lost: \(balances)")

        let transfers = requests.filter { $0.op == "transfer" }
        #expect(transfers.contains { $0.succeeded }, "no transfer was acknowledged before the fault")
        for transfer in transfers {
            let key = try #require(transfer.args["idempotency_key"]?.stringValue)
            let stored = try db.prepare("SELECT id FROM transactions WHERE idempotency_key = ?").queryOne(key) { $0.int64(0) }
            // No answer (the writer stopped) leaves the outcome open: then it is whole or absent (the
            // ledger check above), and either way a retry with its key answers the truth.
            if transfer.succeeded {
                #expect(stored.map { String($0) } == transfer.reply?["result"]?["txn"]?["id"]?.stringValue,
                        "acknowledged transfer \(key) is missing or changed its txn id")
            } else if transfer.refused {
                #expect(stored == nil, "transfer \(key) was refused but is on disk")
            }
        }
        let users = try usernames(directory)
        for signUp in requests where signUp.op == "signup" && (signUp.succeeded || signUp.refused) {
            let name = try #require(signUp.args["username"]?.stringValue)
            #expect(users.contains(name) == signUp.succeeded, "sign-up \(name): \(signUp.reply.map(JSONWriter.string) ?? "")")
        }
        let client = try await hub.client()
        for login in requests where login.op == "login" && login.succeeded {
            let token = try #require(login.reply?["result"]?["token"])
            _ = try await client.ok("auth", ["token": token])
        }
        // And the restarted hub moves money.
        let payer = try await hub.client()
        _ = try await payer.ok("login", ["username": "customer0", "password": password])
        _ = try await payer.ok("transfer", ["from": .string(accounts[0]), "to": .string(accounts[1]), "amount": "0.01"])
    }

    // MARK: - helpers

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-fault-\(UUID().uuidString)")
            .resolvingSymlinksInPath()
    }

    /// Caps the database at its current size plus `pages` on the writer's connection (SQLITE_FULL past it).
    static func limitGrowth(of hub: FaultHub, toPagesMore pages: Int64) async throws {
        try await hub.server.writer.write { db in
            let current = try db.prepare("PRAGMA page_count").queryOne { $0.int64(0) } ?? 0
            try db.execute("PRAGMA max_page_count = \(current + pages)")
        }
    }

    static func usernames(_ directory: URL) throws -> Set<String> {
        let db = try SQLiteConnection(path: FaultHub.database(in: directory), mode: .readOnly)
        return Set(try db.prepare("SELECT username FROM users").query { $0.string(0) })
    }
}
