import BankBus
import BankCrypto
import BankStorage
import Foundation
import Logging
import Synchronization
import WebSocketTransport

/// How a hub joins the other hubs of its PostgreSQL database over NATS (`serve --bus`). See docs/scaling.md,
/// "Several hubs on one database".
public struct HubBusOptions: Sendable {
    /// NATS servers (`nats://HOST:PORT`, `tls://HOST:PORT`; credentials as `USER:PASSWORD@` or `TOKEN@` before
    /// the host), tried in order on connect and on every reconnect. Shown only masked (`NATSConfiguration`).
    public var urls: [String]
    /// PEM file of the certificate authorities of the servers' TLS certificates (`--bus-ca-file`, `tls://`
    /// only); nil: the system's trust store.
    public var caFile: String?
    /// How often the hub compares the heads of the streams its connections follow with the database
    /// (`--bus-head-check-ms`): an event the bus did not bring reaches the subscribers within two periods plus
    /// one read, even when no later event shows the gap. One indexed query per period for all followed streams.
    public var headCheckMilliseconds = 250
    /// The key that seals bus messages, as hex (`BANKHUB_BUS_KEY`); used instead of `keyFile` when set.
    public var keyHex: String?
    /// A file holding the key as hex (`--bus-key-file`), readable by its owner only; never created here: the
    /// key must be the same on every hub, so it is made once and handed to all of them.
    public var keyFile: String?
    /// Bytes of this hub's publishes held while the bus is down (`NATSConfiguration.pendingBytesMax`); past it
    /// publishes are dropped, and the other hubs read those events from the database when the bus is back.
    public var pendingBytesMax = 8 << 20
    /// The connection's name in NATS monitoring (e.g. `bankhub-2`).
    public var name = "bankhub"
    /// A file holding this hub's user NKey seed (`SU…`, `--bus-nkey-seed-file`), instead of credentials in the
    /// URLs: libnats signs the server's nonce with it, the public key is derived from it. Mode 0600.
    public var nkeySeedFile: String?
    /// A `.creds` file (user JWT and NKey seed, `--bus-creds-file`) for a NATS server in operator mode, instead
    /// of credentials in the URLs. Mode 0600.
    public var credsFile: String?

    public init(urls: [String]) {
        self.urls = urls
    }

    /// The servers as they may be shown (logs, the start-up line): credentials masked.
    public var displayURLs: String { NATSConfiguration(urls: urls).displayURLs }

    /// Checks the NATS settings before anything is opened (`serve` runs it while validating its flags): the
    /// URLs, at most one identity file and never beside credentials in the URLs, and the identity file itself
    /// (readable, private, a user seed; ``NATSIdentityFile/check()``). The message names files, never their
    /// content, and masks the URLs' secrets.
    public func validate() throws(HubStartError) {
        let configuration = try natsConfiguration()
        do {
            try configuration.validate()
            _ = try configuration.identity?.check()
        } catch {
            throw HubStartError(message: error.message)
        }
    }

    /// The connection's configuration: no echo (the hub delivers its own events itself), the identity file.
    func natsConfiguration() throws(HubStartError) -> NATSConfiguration {
        var configuration = NATSConfiguration(urls: urls)
        configuration.caFile = caFile
        configuration.noEcho = true
        configuration.pendingBytesMax = pendingBytesMax
        configuration.name = name
        switch (nkeySeedFile, credsFile) {
        case (let seed?, nil): configuration.identity = .nkeySeed(path: seed)
        case (nil, let creds?): configuration.identity = .credentials(path: creds)
        case (nil, nil): break
        case (_?, _?): throw HubStartError(message: "an NKey seed file or a credentials file for the bus, not both")
        }
        return configuration
    }
}

/// A hub's link to the other hubs of its database: the NATS connection (no echo), the key that seals the
/// messages, and the reader that fills what the bus did not bring from the database.
///
/// A bus that cannot be reached at start does not stop the hub: `NATSConnection` keeps trying in the background
/// (and after every later loss), this hub's own subscribers are served meanwhile, `/readyz` answers 503
/// `bus_disconnected`, and on (re)connecting every followed stream is read from the database (`BusEventFanout`).
/// NATS carries notifications, never truth, so an unreachable bus is a delay, not a loss.
struct HubBus: Sendable {
    let connection: NATSConnection
    private let key: [UInt8]
    private let gaps: BusGapReader
    private let headCheck: BusHeadCheck
    private let logger: Logger

    /// Loads the key and opens the connection. Throws `HubStartError` for a missing or malformed key, NATS
    /// URLs libnats refuses, or an identity file that cannot be used (`HubBusOptions.validate`); an unreachable
    /// server, or one that refuses the credentials, is not an error (see above).
    static func open(_ options: HubBusOptions, storage: HubStorage, logger: Logger) throws -> HubBus {
        let key: [UInt8]
        do {
            key = try BusKey.load(hex: options.keyHex, file: options.keyFile)
        } catch {
            throw HubStartError(message: error.description)
        }
        precondition(options.headCheckMilliseconds > 0, "the bus head check period is positive")
        let configuration = try options.natsConfiguration()
        let connection: NATSConnection
        do {
            connection = try NATSConnection(configuration)
        } catch {
            throw HubStartError(message: "cannot use the bus \(configuration.displayURLs): \(error)")
        }
        if !connection.isConnected {
            logger.warning("the bus \(configuration.displayURLs) is not reachable yet; serving this hub's own events and retrying (/readyz answers 503 until it connects)")
        }
        return HubBus(connection: connection, key: key, gaps: BusGapReader(open: storage.openReadConnection),
                      headCheck: BusHeadCheck(milliseconds: options.headCheckMilliseconds), logger: logger)
    }

    /// Why the hub is not linked to NATS now, or nil when it is (for `/readyz`): libnats's last error when
    /// it has one (e.g. `Authorization Violation`), credentials masked.
    var problem: @Sendable () -> String? {
        { [connection] in
            guard !connection.isConnected else { return nil }
            return connection.lastError.map { "last error: \($0)" } ?? "not connected"
        }
    }

    /// The hub's fan-out: the local one alone (one hub on its database), or joined to the bus, with its
    /// periodic head check started.
    static func makeFanout(_ bus: HubBus?, sink: any FrameSink) -> any EventFanout {
        let local = LocalEventFanout(sink: sink)
        guard let bus else { return local }
        let (gaps, connection, logger) = (bus.gaps, bus.connection, bus.logger)
        let fanout = BusEventFanout(local: local, bus: connection, key: bus.key, filler: { stream, from, to in
            try gaps.read(stream, from: from, through: to)
        }, linkChanged: { event in
            Self.log(event, connection: connection, logger: logger)
        })
        bus.headCheck.start(fanout, heads: gaps.heads)
        return fanout
    }

    /// Says what happened to the link, and why when libnats knows (a refused password or NKey says
    /// `Authorization Violation`); never the credentials (libnats never quotes a seed, only its file's path).
    private static func log(_ event: BusEvent, connection: NATSConnection, logger: Logger) {
        let why = connection.lastError.map { ": \($0)" } ?? ""
        let servers = connection.configuration.displayURLs
        switch event {
        case .connected: logger.info("connected to the bus \(servers)")
        case .reconnected: logger.info("reconnected to the bus \(servers); reading what was missed from the database")
        case .disconnected:
            logger.warning("lost the bus \(servers)\(why); retrying, events from other hubs come from the database meanwhile")
        case .closed:
            guard !why.isEmpty else { return logger.info("closed the link to the bus \(servers)") }
            logger.error("the bus \(servers) closed the link\(why); not retrying: fix --bus (credentials, NKey seed or creds file, TLS) and restart. /readyz answers 503")
        }
    }

    /// Ends the head check, the bus subscriptions and the gap reader's session; after the transport stopped (no
    /// subscriber is left to deliver to).
    func close() {
        headCheck.stop()
        connection.close()
        gaps.close()
    }
}

/// Runs ``BusEventFanout/checkHeads(_:)`` every period until stopped (a task of its own; the read blocks its
/// thread like the gap filler's).
final class BusHeadCheck: Sendable {
    let period: Duration
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(milliseconds: Int) {
        period = .milliseconds(milliseconds)
    }

    func start(_ fanout: BusEventFanout, heads: @escaping @Sendable ([String]) throws -> [String: Int64]) {
        let period = self.period
        task.withLock { task in
            task?.cancel()
            task = Task { [weak fanout] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: period)
                    guard !Task.isCancelled, let fanout else { return }
                    fanout.checkHeads(heads)
                }
            }
        }
    }

    func stop() {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }
}

/// Reads the events the bus did not bring (a gap in the seqs, a reconnect, a message without a valid seal)
/// and the heads of the followed streams (the head check) from the database, on a read-only session of its
/// own: the gap filler runs synchronously under the bus fan-out's lock, so it cannot wait for the readers'
/// threads. A session that failed is dropped and the next read opens a new one; after `close` reads throw.
final class BusGapReader: Sendable {
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the bus gap reader is closed" }
    }

    private let open: @Sendable () throws -> any SQLDatabase
    /// The session, used by one caller at a time (its lock serializes the fan-out's filler and the head check).
    private let session = Mutex<(db: (any SQLDatabase)?, closed: Bool)>((nil, false))

    init(open: @escaping @Sendable () throws -> any SQLDatabase) {
        self.open = open
    }

    /// The last seq of each of `streams` that has events, from `stream_counters` (several hubs take every seq
    /// there, in the commit of its event): one indexed query for all of them.
    func heads(_ streams: [String]) throws -> [String: Int64] {
        // Stream names have no spaces (they are NATS subject tokens, `BusSubjects`): one text parameter.
        let names = streams.filter { !$0.contains(" ") }.joined(separator: " ")
        return try withSession { db in
            var heads: [String: Int64] = [:]
            _ = try db.prepare("SELECT stream, last_seq FROM stream_counters WHERE stream = ANY(string_to_array(?, ' '))")
                .query(names) { row in heads[row.string(0)] = row.int64(1) }
            return heads
        }
    }

    /// The events of `stream` with seq in `from...through`, oldest first, read in one snapshot (stored rows and
    /// those derived from postings must agree).
    func read(_ stream: String, from: Int64, through: Int64) throws -> [StoredEvent] {
        precondition(from >= 1 && through >= from, "a gap is a non-empty range of seqs")
        let limit = Int(min(through - from + 1, Int64(BusFollowedStreams.fillEventsMax)))
        return try withSession { db in
            // The bus runs only on PostgreSQL (HubServer refuses it on SQLite).
            try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let events = try EventRecords.events(db, stream: stream, after: from - 1, limit: limit)
            try db.execute("COMMIT")
            return events
        }
    }

    func close() {
        session.withLock { $0 = (nil, true) }
    }

    /// Runs `body` on the session (opened first if needed); a failure drops the session.
    private func withSession<T: Sendable>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try session.withLock { session in
            guard !session.closed else { throw Closed() }
            do {
                let db = try session.db ?? open()
                session.db = db
                return try body(db)
            } catch {
                session.db = nil
                throw error
            }
        }
    }
}

/// The bus key: at least ``BusEventSeal/keyBytesMin`` bytes, given as hex, the same on every hub and never
/// known to NATS (docs/security.md, "Several hubs").
enum BusKey {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The key from `hex` (`BANKHUB_BUS_KEY`) when given, else from `file`. Refuses a missing or short key and
    /// a key file that others than its owner may read.
    static func load(hex: String?, file: String?) throws(LoadError) -> [UInt8] {
        if let hex { return try parse(hex, source: "BANKHUB_BUS_KEY") }
        guard let path = file else {
            throw LoadError(description: "a hub on the bus needs the bus key: set BANKHUB_BUS_KEY or --bus-key-file")
        }
        let text: String
        do {
            text = try PrivateKeyFile.read(path, what: "bus key")
        } catch {
            throw LoadError(description: error.description)
        }
        return try parse(text, source: path)
    }

    private static func parse(_ hex: String, source: String) throws(LoadError) -> [UInt8] {
        let bytesMin = BusEventSeal.keyBytesMin
        guard let bytes = Hex.decode(hex), bytes.count >= bytesMin else {
            throw LoadError(description: "\(source) must be at least \(2 * bytesMin) hex characters (\(bytesMin) bytes), the same on every hub")
        }
        return bytes
    }
}
