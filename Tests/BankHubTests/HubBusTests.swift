import BankBus
@testable import BankHub
import BankCrypto
import BankWire
import Foundation
import Logging
import NATSTestPeer
import Testing

/// Two real hubs on one PostgreSQL database, joined by one real nats-server (`serve --database URL --bus
/// nats://…`). Until the ledger's authority moves into PostgreSQL, the hubs' money state differs, so every
/// money operation here is made on hub A (where the customer signed up) and watched from hub B, started after
/// the customer's account exists.
@Suite(.enabled(if: TestDatabase.isPostgres, "several hubs share a PostgreSQL database"),
       .disabled(if: TestDatabase.isPair, "starts its own two hubs and nats-server (the postgres run runs it)"))
struct HubBusTests {
    /// A deposit made on hub A reaches a subscriber of the account on hub B, at the next seq, once.
    @Test func depositOnOneHubReachesTheSubscriberOnTheOtherOnce() async throws {
        try await withTwoHubs { _, b, alice, _ in
            let watcher = try await Self.subscriber(on: b, of: alice)
            let head = try await watcher.subscribe(alice.account)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            let first = try await watcher.client.nextEvent(timeout: .seconds(10))
            #expect(first["event"] == "balance" && first["seq"]?.int64Value == head + 1)
            #expect(first["data"]?["balance"] == "11.00")
            // A duplicate of the first would arrive before the second.
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "2.00"])
            let second = try await watcher.client.nextEvent(timeout: .seconds(10))
            #expect(second["seq"]?.int64Value == head + 2 && second["data"]?["balance"] == "13.00")
        }
    }

    /// A client that left hub B resumes there with `since` after deposits made on hub A: exactly the missed
    /// events come back, then the next deposit on A arrives live.
    @Test func resumeWithSinceOnOneHubReturnsWhatWasMadeOnTheOther() async throws {
        try await withTwoHubs { _, b, alice, _ in
            let first = try await Self.subscriber(on: b, of: alice)
            let head = try await first.subscribe(alice.account)
            first.client.close()
            for amount in ["1.00", "2.00", "3.00"] {
                _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": .string(amount)])
            }
            let resumed = try await Self.subscriber(on: b, of: alice)
            _ = try await resumed.subscribe(alice.account, since: head)
            let missed = try await resumed.client.events(3, timeout: .seconds(10))
            #expect(missed.map { $0["seq"]?.int64Value } == [head + 1, head + 2, head + 3])
            #expect(missed.map { $0["data"]?["balance"]?.stringValue } == ["11.00", "13.00", "16.00"])
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "4.00"])
            let live = try await resumed.client.nextEvent(timeout: .seconds(10))
            #expect(live["seq"]?.int64Value == head + 4 && live["data"]?["balance"] == "20.00")
        }
    }

    /// nats-server is down for a few seconds while hub A takes deposits (A's pending buffer is too small to keep
    /// them, so they never travel): hub B's `/readyz` says `bus_disconnected`, and once the server is back B's
    /// subscriber gets every deposit, in order, read from the database; then live delivery goes on, no duplicate.
    @Test func depositsDuringABusOutageReachTheOtherHubInOrderOnceItIsBack() async throws {
        try await withTwoHubs(pendingBytesMaxOfA: 1) { a, b, alice, peer in
            let watcher = try await Self.subscriber(on: b, of: alice)
            let head = try await watcher.subscribe(alice.account)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            #expect(try await watcher.client.nextEvent(timeout: .seconds(10))["seq"]?.int64Value == head + 1)
            #expect(try await ReadinessTests.readyz(b).status == 200)

            peer.stop()
            let down = try await Self.readyz(b, until: { $0.status == 503 })
            #expect(down.reply["status"] == "bus_disconnected")
            for _ in 0..<5 {
                _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            }
            let fanoutOfA = try #require(a.server.services.fanout as? BusEventFanout)
            // libnats may take the first publish into its empty reconnect buffer; the rest can only come from
            // the database.
            #expect(fanoutOfA.statistics.publishFailures >= 4)
            try await peer.start()

            let filled = try await watcher.client.events(5, timeout: .seconds(20))
            #expect(filled.map { $0["seq"]?.int64Value } == (2...6).map { head + $0 })
            #expect(filled.map { $0["data"]?["balance"]?.stringValue } == ["12.00", "13.00", "14.00", "15.00", "16.00"])
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            #expect(try await watcher.client.nextEvent(timeout: .seconds(10))["seq"]?.int64Value == head + 7)
            let up = try await Self.readyz(b, until: { $0.status == 200 })
            #expect(up.reply["status"] == "ready")
        }
    }

    /// The bus never brings an event to hub B (here: B's NATS server is not A's, the limit case of an event
    /// published before B's subscription took effect, or dropped while A was disconnected) and nothing else is
    /// committed after it: B's head check still reads it from the database, within two periods (250 ms).
    @Test func anEventTheBusNeverBringsReachesTheOtherHubByTheHeadCheck() async throws {
        let elsewhere = try await NATSPeer.start()
        try await withTwoHubs(busOfB: elsewhere.url) { _, b, alice, _ in
            let watcher = try await Self.subscriber(on: b, of: alice)
            let head = try await watcher.subscribe(alice.account)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            let late = try await watcher.client.nextEvent(timeout: .seconds(10))
            #expect(late["seq"]?.int64Value == head + 1 && late["data"]?["balance"] == "11.00")
            // Once, in order: the next deposit comes the same way, the first is not sent again.
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "2.00"])
            let next = try await watcher.client.nextEvent(timeout: .seconds(10))
            #expect(next["seq"]?.int64Value == head + 2 && next["data"]?["balance"] == "13.00")
            // (The first may also come from the read made once B's subscription is confirmed, if that is slow.)
            let fanoutOfB = try #require(b.server.services.fanout as? BusEventFanout)
            #expect(fanoutOfB.statistics.headCheckEvents >= 1)
        }
    }

    /// A NATS server that wants a user and password: hubs with the right ones carry events as before; a hub
    /// with a wrong password is not ready, and `/readyz` says why without showing the password.
    @Test func busCredentialsAreCheckedAndNeverShown() async throws {
        let peer = try await NATSPeer.start(auth: .user("hub", password: "right-pass"))
        let right = peer.url(user: "hub", password: "right-pass")
        try await withTwoHubs(peer: peer, busOfA: right, busOfB: right) { _, b, alice, _ in
            let watcher = try await Self.subscriber(on: b, of: alice)
            let head = try await watcher.subscribe(alice.account)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            #expect(try await watcher.client.nextEvent(timeout: .seconds(10))["seq"]?.int64Value == head + 1)
            #expect(try await ReadinessTests.readyz(b).status == 200)
        }
        try await withTwoHubs(peer: peer, busOfA: right, busOfB: peer.url(user: "hub", password: "wrong-pass")) {
            a, b, _, _ in
            let refused = try await Self.readyz(b, until: { $0.reply["detail"]?.stringValue?.contains("Authorization") == true })
            #expect(refused.status == 503 && refused.reply["status"] == "bus_disconnected")
            let detail = refused.reply["detail"]?.stringValue ?? ""
            #expect(detail.contains("Authorization Violation") && !detail.contains("wrong-pass"), "\(detail)")
            #expect(try await ReadinessTests.readyz(a).status == 200)
        }
    }

    /// A NATS server that lists the hubs' NKey (`--bus-nkey-seed-file`): hubs with the seed file carry events
    /// across; a hub with another user's seed starts but is not ready, `/readyz` and its log say why, and
    /// neither shows the seed.
    @Test func busNKeySeedFileSignsInAndAWrongSeedIsNotReady() async throws {
        let (right, rightFile) = try Self.seedFile()
        let (wrong, wrongFile) = try Self.seedFile()
        let peer = try await NATSPeer.start(auth: .nkeys([try NKey.userPublicKey(fromSeed: right)]))
        try await withTwoHubs(peer: peer, seedFileOfA: rightFile, seedFileOfB: rightFile) { _, b, alice, _ in
            let watcher = try await Self.subscriber(on: b, of: alice)
            let head = try await watcher.subscribe(alice.account)
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "1.00"])
            #expect(try await watcher.client.nextEvent(timeout: .seconds(10))["seq"]?.int64Value == head + 1)
            #expect(try await ReadinessTests.readyz(b).status == 200)
        }
        let log = CapturedLog()
        let logger = Logger(label: "bankhub-test") { _ in CapturingLogHandler(lines: log) }
        try await withTwoHubs(peer: peer, seedFileOfA: rightFile, seedFileOfB: wrongFile, loggerOfB: logger) {
            a, b, _, _ in
            let refused = try await Self.readyz(b, until: { $0.reply["detail"]?.stringValue?.contains("Authorization") == true })
            #expect(refused.status == 503 && refused.reply["status"] == "bus_disconnected")
            let detail = refused.reply["detail"]?.stringValue ?? ""
            #expect(detail.contains("Authorization Violation") && !detail.contains(wrong), "\(detail)")
            #expect(try await ReadinessTests.readyz(a).status == 200)
        }
        #expect(log.all.contains { $0.contains("Authorization Violation") }, "\(log.all)")
        #expect(!log.all.contains { $0.contains(wrong) || $0.contains(right) })
    }

    /// A hub on the bus without the bus key, or with a short one, does not start; the message names the key.
    @Test func busWithoutAUsableKeyIsRefused() async throws {
        let peer = try await NATSPeer.start()
        for key in [nil, "00ff"] {
            var options = PostgresHubTests.options(try TestDatabase.freshDatabaseURL())
            var bus = HubBusOptions(urls: [peer.url])
            bus.keyHex = key
            options.bus = bus
            await #expect {
                _ = try await HubServer.open(options, logger: PostgresHubTests.quiet)
            } throws: { error in
                "\(error)".contains("BANKHUB_BUS_KEY")
            }
        }
    }

    // MARK: - Two hubs

    /// The key both hubs seal bus messages with.
    static let busKey = Hex.encode(SecureRandom.bytes(BusEventSeal.keyBytesMin))

    /// Starts nats-server (or uses `peer`) and hub A on a fresh database, signs up `alice` on A with 10.00, then
    /// starts hub B on the same database and bus, and runs `body`. `pendingBytesMaxOfA`: A's publish buffer
    /// while the bus is down; `busOfA`, `busOfB`: another bus URL for that hub (credentials, another server).
    /// `seedFileOfA`, `seedFileOfB`: that hub's `--bus-nkey-seed-file`; `loggerOfB`: where hub B logs.
    private func withTwoHubs(pendingBytesMaxOfA: Int? = nil, peer: NATSPeer? = nil, busOfA: String? = nil,
                             busOfB: String? = nil, seedFileOfA: String? = nil, seedFileOfB: String? = nil,
                             loggerOfB: Logger? = nil,
                             _ body: (TestHub, TestHub, Customer, NATSPeer) async throws -> Void) async throws {
        let peer = if let peer { peer } else { try await NATSPeer.start() }
        let url = try TestDatabase.freshDatabaseURL()
        let codeKey = Hex.encode(SecureRandom.bytes(32))
        func configure(_ options: inout HubServer.Options, bus busURL: String?, pendingBytesMax: Int?,
                       seedFile: String?) {
            options.databaseURL = url
            options.hub.codeKeyHex = codeKey
            options.hub.readinessProbeIntervalMilliseconds = 100
            var bus = HubBusOptions(urls: [busURL ?? peer.url])
            bus.keyHex = Self.busKey
            if let pendingBytesMax { bus.pendingBytesMax = pendingBytesMax }
            bus.nkeySeedFile = seedFile
            options.bus = bus
        }
        try await TestHub.with(configure: {
            configure(&$0, bus: busOfA, pendingBytesMax: pendingBytesMaxOfA, seedFile: seedFileOfA)
        }) { a in
            let alice = try await a.customer("alice", deposit: "10.00")
            try await TestHub.with(configure: { configure(&$0, bus: busOfB, pendingBytesMax: nil, seedFile: seedFileOfB) },
                                   logger: loggerOfB) { b in
                try await body(a, b, alice, peer)
            }
        }
    }

    /// A new user NKey seed and a file (mode 0600) holding it.
    private static func seedFile() throws -> (seed: String, path: String) {
        let seed = NKey.userSeed(raw: SecureRandom.bytes(32))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bus-seed-\(UUID()).nk").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data((seed + "\n").utf8),
                                               attributes: [.posixPermissions: 0o600]))
        return (seed, path)
    }

    /// A connection to `hub` signed in with `customer`'s token (issued by the other hub).
    private static func subscriber(on hub: TestHub, of customer: Customer) async throws -> Subscriber {
        let client = try await hub.client()
        _ = try await client.ok("auth", ["token": .string(customer.token)])
        return Subscriber(client: client)
    }

    struct Subscriber {
        let client: HubClient

        /// Subscribes to the account's stream (from `since` when given); returns the stream's head.
        func subscribe(_ account: String, since: Int64? = nil) async throws -> Int64 {
            let stream = JSONValue.string("account:\(account)")
            let args: JSONValue = if let since { ["stream": stream, "since": .integer(since)] } else { ["stream": stream] }
            let result = try await client.ok("subscribe", args)
            return try #require(result["head"]?.int64Value)
        }
    }

    /// Polls `/readyz` of `hub` until `condition` holds (generous deadline); returns the last answer.
    private static func readyz(_ hub: TestHub, until condition: (APIClient.Answer) -> Bool) async throws
        -> APIClient.Answer {
        var answer = try await ReadinessTests.readyz(hub)
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(answer), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            answer = try await ReadinessTests.readyz(hub)
        }
        return answer
    }
}

/// `--bus` on any engine: a hub alone on SQLite cannot join a bus.
struct HubBusStartTests {
    /// A bus needs the shared database: a hub on SQLite with a bus does not start, and says why.
    @Test func busWithoutPostgreSQLIsRefused() async throws {
        var options = HubServer.Options()
        options.databasePath = FileManager.default.temporaryDirectory
            .appendingPathComponent("bus-sqlite-\(UUID()).sqlite").path
        options.bus = HubBusOptions(urls: ["nats://127.0.0.1:4222"])
        await #expect {
            _ = try await HubServer.open(options, logger: PostgresHubTests.quiet)
        } throws: { error in
            "\(error)".contains("a bus joins hubs that share a PostgreSQL database")
        }
        #expect(!FileManager.default.fileExists(atPath: options.databasePath), "nothing was created")
    }
}
