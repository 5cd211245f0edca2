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
    /// NATS servers (`nats://HOST:PORT`), tried in order on connect and on every reconnect.
    public var urls: [String]
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

    public init(urls: [String]) {
        self.urls = urls
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

    /// Loads the key and opens the connection. Throws `HubStartError` for a missing or malformed key, or NATS
    /// URLs libnats refuses; an unreachable server is not an error (see above).
    static func open(_ options: HubBusOptions, storage: HubStorage, logger: Logger) throws -> HubBus {
        let key: [UInt8]
        do {
            key = try BusKey.load(hex: options.keyHex, file: options.keyFile)
        } catch {
            throw HubStartError(message: error.description)
        }
        var configuration = NATSConfiguration(urls: options.urls)
        configuration.noEcho = true
        configuration.pendingBytesMax = options.pendingBytesMax
        configuration.name = options.name
        let connection: NATSConnection
        do {
            connection = try NATSConnection(configuration)
        } catch {
            throw HubStartError(message: "cannot use the bus \(options.urls.joined(separator: ",")): \(error)")
        }
        if !connection.isConnected {
            logger.warning("the bus \(options.urls.joined(separator: ",")) is not reachable yet; serving this hub's own events and retrying (/readyz answers 503 until it connects)")
        }
        return HubBus(connection: connection, key: key, gaps: BusGapReader(open: storage.openReadConnection))
    }

    /// Whether the link to NATS is up now (for `/readyz`).
    var isConnected: @Sendable () -> Bool {
        { [connection] in connection.isConnected }
    }

    /// The hub's fan-out: the local one alone (one hub on its database), or joined to the bus.
    static func makeFanout(_ bus: HubBus?, sink: any FrameSink) -> any EventFanout {
        let local = LocalEventFanout(sink: sink)
        guard let bus else { return local }
        let gaps = bus.gaps
        return BusEventFanout(local: local, bus: bus.connection, key: bus.key, filler: { stream, from, to in
            try gaps.read(stream, from: from, through: to)
        })
    }

    /// Ends the bus subscriptions and the gap reader's session; after the transport stopped (no subscriber
    /// is left to deliver to).
    func close() {
        connection.close()
        gaps.close()
    }
}

/// Reads the events the bus did not bring (a gap in the seqs, a reconnect, a message without a valid seal)
/// from the database, on a read-only session of its own: the gap filler runs synchronously under the bus
/// fan-out's lock, so it cannot wait for the readers' threads. A session that failed is dropped and the next
/// read opens a new one.
final class BusGapReader: Sendable {
    private let open: @Sendable () throws -> any SQLDatabase
    /// The session, used by one caller at a time (the fan-out's lock already serializes them).
    private let session = Mutex<(any SQLDatabase)?>(nil)

    init(open: @escaping @Sendable () throws -> any SQLDatabase) {
        self.open = open
    }

    /// The events of `stream` with seq in `from...through`, oldest first, read in one snapshot (stored rows and
    /// those derived from postings must agree).
    func read(_ stream: String, from: Int64, through: Int64) throws -> [StoredEvent] {
        precondition(from >= 1 && through >= from, "a gap is a non-empty range of seqs")
        let limit = Int(min(through - from + 1, Int64(BusFollowedStreams.fillEventsMax)))
        return try session.withLock { session in
            do {
                let db = try session ?? open()
                session = db
                // The bus runs only on PostgreSQL (HubServer refuses it on SQLite).
                try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                let events = try EventRecords.events(db, stream: stream, after: from - 1, limit: limit)
                try db.execute("COMMIT")
                return events
            } catch {
                session = nil
                throw error
            }
        }
    }

    func close() {
        session.withLock { $0 = nil }
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
