import BankCore
import BankCrypto
import BankPostgres
import BankStorage
import BankStore
import BankWire
import Foundation
import Logging
import Synchronization
import WebSocketTransport

/// What `bankhub serve` runs: the database, the ledger, the hub and the libwebsockets transport, wired
/// together. See docs/architecture.md for the data flow.
public final class HubServer: Sendable {
    public struct Options: Sendable {
        public var transport = WebSocketServerConfiguration()
        public var hub = HubConfiguration()
        /// The SQLite file (the default engine); unused when `databaseURL` is set.
        public var databasePath = "./data/bankhub.sqlite"
        /// A PostgreSQL database (`postgresql://USER@HOST:PORT/DB`) to run on instead of SQLite; one hub per
        /// database (a second one refuses to start) unless every hub on it has a `bus`. Needs `hub.codeKeyHex` or `hub.codeKeyFile`: the code key
        /// must not live in the database that holds the code hashes.
        public var databaseURL: String?
        /// The PostgreSQL readers' statement budget and pool size (with `databaseURL`); its `failStop` is
        /// replaced by `storage.failStop`.
        public var postgres = PostgresStorageOptions()
        public var notifications = NotificationConfiguration()
        /// The read budget, and the storage seams for fault-injection tests (see `StorageOptions`).
        public var storage = StorageOptions()
        /// The NATS bus joining the hubs of one PostgreSQL database (`--bus`); nil for a hub alone. Needs
        /// `databaseURL`, and takes the database's hub lock shared (`PostgresHubLock.Mode.shared`).
        public var bus: HubBusOptions?

        public init() {}
    }

    public static let version = "0.1.0"

    public let transport: WebSocketServer
    let hub: Hub
    /// The same services the hub uses; the server starts and stops them and seeds demo data through them.
    let services: HubServices
    private let logger: Logger
    /// Purges old sessions, challenges and login attempts, and compacts old idempotency keys.
    let janitor: Janitor
    /// Queues last month's statement e-mails on the 1st (and after any restart that finds them missing).
    let statementsJob: MonthlyStatementJob
    /// Which ledger the hub runs on (closed at shutdown).
    private let hubLedger: HubLedger
    /// Several hubs may claim work on the database: this hub's heartbeat there, from `start()` to `shutdown()`.
    private let liveness: HubLiveness?

    var writer: any StorageWriter { services.writer }
    var readers: any StorageReaders { services.readers }
    var ledger: any LedgerAuthority { services.ledger }
    var auth: AuthService { services.auth }
    var notifier: Notifier { services.notifier }
    /// The link to the other hubs of the database, when there is a bus (Server/HubBus.swift).
    private let bus: HubBus?
    /// The one shutdown, once started (see `shutdown`).
    private let shutdownTask = Mutex<Task<Void, Never>?>(nil)
    /// `/readyz`'s state (HTTP/Readiness.swift).
    let readiness: Readiness
    /// The event-stream heartbeat, from `start()` to `shutdown()`.
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)
    /// Hub counters (connections), read for `/healthz` and for metrics scrapes.
    private let statistics: HubStatistics
    /// Scrape-time gauges and mirrored counters (Metrics/HubMetrics.swift).
    private let scrapeMetrics = ScrapeMetrics()

    /// Opens (creating or migrating) the database, checks the stored ledger's invariants and loads it.
    /// Refuses to start on a ledger whose balances do not match its postings.
    public static func open(_ options: Options, logger: Logger) async throws -> HubServer {
        var options = options
        // Hubs joined by a bus share their database: the lock, the ledger, counts and revocations.
        if options.bus != nil { options.postgres.hubLock = .shared }
        if options.databaseURL != nil, options.postgres.hubLock == .shared { options.hub.severalHubs = true }
        options.hub.validate()
        var storage = try openStorage(options)
        // Several hubs may claim work on this database: a heartbeat says this one is alive (started by `start`).
        if let claims = storage.claims { storage.liveness = HubLiveness(claims: claims, logger: logger) }
        let writer = storage.writer
        let recentSince = Timestamp(milliseconds: Clock.nowMilliseconds() - options.hub.retention.idempotencyRecentMilliseconds)
        // Also on a hub starting beside running ones (several hubs): each check is one statement, one snapshot of
        // committed rows, and every shared commit keeps the invariants whole, so their writes cannot show a false
        // violation; plain reads, so they do not wait (docs/scaling.md, "The start-up check beside running hubs").
        let problems = try await writer.write { db in try LedgerRecords.violations(db) }
        guard problems.isEmpty else {
            storage.close()
            throw HubStartError(message: "the stored ledger is inconsistent: " + problems.joined(separator: "; "))
        }
        let ledger: HubLedger
        do {
            ledger = try await HubLedger.prepare(options, writer: writer, recentSince: recentSince)
        } catch {
            storage.close()
            throw error
        }
        let codeKey: CodeKey
        do {
            codeKey = try CodeKey.load(hex: options.hub.codeKeyHex, file: codeKeyFile(options))
        } catch {
            storage.close()
            throw HubStartError(message: error.description)
        }
        let orders = try await writer.write { db in try OrderRecords.active(db) }
        let notifier: Notifier
        do {
            notifier = try Notifier(storage: storage, configuration: options.notifications, logger: logger)
        } catch {
            storage.close()
            throw HubStartError(message: "cannot set up the \(options.notifications.sink) notification sink: \(error)")
        }
        let bus: HubBus?
        do {
            bus = try options.bus.map { try HubBus.open($0, storage: storage, logger: logger) }
        } catch {
            storage.close()
            throw error
        }
        return HubServer(options: options, writer: writer, readers: storage.readers, notifier: notifier, ledger: ledger,
                         codeKey: codeKey, orders: orders, claims: storage.claims, liveness: storage.liveness, bus: bus,
                         logger: logger)
    }

    /// SQLite at `databasePath`, or PostgreSQL at `databaseURL`; a second hub on one PostgreSQL database is a
    /// start error that says why.
    private static func openStorage(_ options: Options) throws -> HubStorage {
        guard let url = options.databaseURL else {
            if options.bus != nil {
                throw HubStartError(message: "a bus joins hubs that share a PostgreSQL database: give --database too "
                                    + "(an SQLite file serves one hub)")
            }
            return try HubStorage.sqlite(path: options.databasePath, options: options.storage)
        }
        // The code key's place is checked before the database is touched (migrated, locked).
        do {
            _ = try codeKeyFile(options)
        } catch {
            throw HubStartError(message: error.description)
        }
        var postgres = options.postgres
        postgres.failStop = options.storage.failStop
        do {
            return try HubStorage.postgres(url: url, options: postgres)
        } catch let refused as PostgresHubLock.HeldElsewhere {
            throw HubStartError(message: refused.description)
        }
    }

    /// The code key file: the one named, else (SQLite only) beside the database file. A PostgreSQL hub without
    /// either is refused: a key kept in the database would sit next to the hashes it protects.
    private static func codeKeyFile(_ options: Options) throws(CodeKey.LoadError) -> String? {
        if let file = options.hub.codeKeyFile { return file }
        guard options.databaseURL == nil else {
            guard options.hub.codeKeyHex != nil else {
                throw CodeKey.LoadError(description: "a hub on PostgreSQL needs its one-time-code key outside the "
                                        + "database: set BANKHUB_CODE_KEY or --code-key-file")
            }
            return nil
        }
        return options.databasePath + ".code-key"
    }

    private init(options: Options, writer: any StorageWriter, readers: any StorageReaders, notifier: Notifier,
                 ledger hubLedger: HubLedger, codeKey: CodeKey,
                 orders: [StandingOrderRecord], claims: (any WorkClaims)?, liveness: HubLiveness?, bus: HubBus?,
                 logger: Logger) {
        var transportOptions = options.transport
        transportOptions.tooLargeReply = Reply.failure(id: nil, error: BankError(
            .tooLarge, "messages are limited to \(transportOptions.messageBytesMax) bytes; closing"))
        if transportOptions.responseHeaders.isEmpty {
            transportOptions.responseHeaders = Self.securityHeaders(tls: transportOptions.tlsCertificatePath != nil)
        }
        let statistics = HubStatistics()
        let transport = WebSocketServer(configuration: transportOptions, health: {
            statistics.healthBody(version: HubServer.version)
        })
        let fanout = HubBus.makeFanout(bus, sink: transport)
        self.bus = bus
        let (sequencer, ledger) = hubLedger.make(writer: writer, readers: readers, fanout: fanout)
        self.hubLedger = hubLedger
        self.liveness = liveness
        let auth = AuthService(hasher: PasswordHasher(iterations: options.hub.passwordIterations), writer: writer,
                               readers: readers, sessionLifetimeHours: options.hub.sessionLifetimeHours)
        self.transport = transport
        self.logger = logger
        self.statistics = statistics
        writer.observeCommits { sample in
            HubMetrics.commit(batchSize: sample.batchSize, durationNanoseconds: sample.durationNanoseconds,
                              syncNanoseconds: sample.syncNanoseconds)
        }
        let services = HubServices(
            writer: writer, readers: readers, sequencer: sequencer, fanout: fanout, ledger: ledger, auth: auth,
            totp: SecondFactor(writer: writer, readers: readers),
            codes: OneTimeCodes(writer: writer, attemptsMax: options.hub.security.otpAttemptsMax, key: codeKey),
            security: SecurityGuard(policy: options.hub.security),
            threats: ThreatReporter(sequencer: sequencer), notifier: notifier,
            orders: StandingOrderScheduler(orders: orders, services: .init(
                ledger: ledger, sequencer: sequencer, readers: readers, writer: writer, notifier: notifier,
                claims: claims),
                                           configuration: options.hub.scheduler, logger: logger),
            claims: claims)
        self.services = services
        self.janitor = Janitor(policy: options.hub.retention, writer: writer, readers: readers, ledger: ledger,
                               logger: logger)
        statementsJob = MonthlyStatementJob(writer: writer, notifier: notifier, configuration: options.hub.scheduler,
                                            logger: logger)
        let hub = Hub(sink: transport, services: services, configuration: options.hub, statistics: statistics,
                      logger: logger)
        self.hub = hub
        readiness = Readiness(writer: writer, configuration: options.hub, busProblem: bus?.problem)
        // Dynamic HTTP routes (the API, readiness, statement downloads); another one is one more `addRoute` here:
        // `HTTPRoute.responding(to:)` with `api.requireSession(request)` for its bearer token.
        let api = HTTPAPI(hub: hub, auth: auth, streamRetryMilliseconds: options.hub.eventStreamRetryMilliseconds)
        transport.addRoute(api.route)
        transport.addRoute(readiness.route)
        transport.addRoute(StatementDownload(api: api, hub: hub).route)
    }

    /// Binds the port and starts the service thread, the outbox worker, the janitor, the standing-order
    /// scheduler and the monthly statements job; returns the bound port.
    public func start() throws -> Int {
        try transport.start()
        // Before the workers that claim: they claim nothing until its first beat.
        liveness?.start()
        notifier.start()
        janitor.start()
        let orders = services.orders
        Task { await orders.start() }
        statementsJob.start()
        let (hub, transport) = (self.hub, self.transport)
        let seconds = hub.configuration.eventStreamHeartbeatSeconds
        heartbeat.withLock { task in
            task = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(seconds))
                    let streams = await hub.eventStreamIDs()
                    if !streams.isEmpty { transport.send(ServerSentEvent.heartbeat, to: streams) }
                }
            }
        }
        return transport.port
    }

    /// Feeds transport events to the hub until the transport shuts down, a batch (one service-loop pass) at a
    /// time. Frames are decoded here, before they reach the hub actor, so JSON parsing does not hold the actor.
    public func run() async {
        // Sign-in deadlines and session expiry, enforced without waiting for requests (see `Hub+Deadlines`).
        let deadlines = Task { [hub] in await hub.runDeadlines() }
        defer { deadlines.cancel() }
        // Several hubs: the sessions other hubs revoke end here too (see `RevocationFeed`).
        let revocations = Task { [hub] in await hub.followRevocations() }
        defer { revocations.cancel() }
        for await batch in transport.eventBatches {
            var items: [Hub.Inbound] = []
            items.reserveCapacity(batch.count)
            var consumed: [ConnectionID] = []
            for event in batch {
                switch event {
                case .opened(let id, let info):
                    items.append(.opened(id, info))
                case .message(let id, let bytes):
                    consumed.append(id)
                    switch Request.decode(bytes) {
                    case .success(let request): items.append(.request(id, request))
                    case .failure(let failure): transport.send(Reply.failure(id: failure.id, error: failure.error), to: id)
                    }
                case .binaryMessage(let id, _):
                    // The protocol is JSON in text frames (docs/protocol.md); the connection stays usable.
                    consumed.append(id)
                    transport.send(Reply.failure(id: nil, error: Self.binaryRefusal), to: id)
                case .closed(let id):
                    items.append(.closed(id))
                }
            }
            if !items.isEmpty { await hub.receive(items) }
            // Inbound back-pressure: the transport reads at most `inboundMessagesMax` ahead of this loop.
            transport.consumed(consumed)
        }
    }

    /// Brings the values read at scrape time up to date in the metrics system (open connections, pending
    /// outbox messages, how far messages and receipts are behind, the transport's slow-consumer closes, the
    /// process's memory, descriptors and CPU); call it just before emitting the metrics. The outbox count and the
    /// backlog are one read job of a few index seeks (skipped when the read fails), once per scrape.
    public func refreshMetrics() async {
        let severalWriters = services.claims != nil
        let read = try? await readers.read { db in
            (try OutboxRecords.pendingCount(db), try DeliveryBacklog.read(db, now: Clock.now(), severalWriters: severalWriters))
        }
        scrapeMetrics.update(ScrapeMetrics.Reading(
            connections: statistics.connections.load(ordering: .relaxed), outboxPending: read?.0, backlog: read?.1,
            slowConsumerCloses: transport.statistics.slowConsumerCloses, process: ProcessStatistics.read()))
    }

    static let binaryRefusal = BankError(.badRequest, "binary frames are not part of the protocol; send JSON in text frames")

    /// Graceful stop: `/readyz` turns 503 (for `shutdownDrainMilliseconds` everything else still works), then
    /// refuse new requests, let those in flight be answered (bounded wait), close every connection with 1001
    /// and every event stream, commit what is queued and close the database. Idempotent.
    public func shutdown() async {
        // Every caller (the signal handler, the end of `run`) waits for the one shutdown to finish, so the
        // process never exits in the middle of it.
        let task = shutdownTask.withLock { task -> Task<Void, Never> in
            if let task { return task }
            let started = Task { await self.performShutdown() }
            task = started
            return started
        }
        await task.value
    }

    private func performShutdown() async {
        readiness.startDraining()
        let drain = hub.configuration.shutdownDrainMilliseconds
        if drain > 0 {
            logger.info("shutting down: /readyz answers 503; still serving for \(drain) ms")
            try? await Task.sleep(for: .milliseconds(drain))
        }
        heartbeat.withLock { $0?.cancel() }
        logger.info("shutting down: refusing new requests")
        await hub.stopAccepting()
        let grace = hub.configuration.shutdownGraceMilliseconds
        var waited = 0
        while hub.inFlight.total > 0, waited < grace {
            try? await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
        transport.shutdown()
        // No subscriber is left to deliver to; other hubs fill what this one published last from the database.
        bus?.close()
        // Before the notifier and the writer: payments under way are recorded, with their messages.
        await services.orders.stop()
        await statementsJob.stop()
        // After the transport, before the writer: the worker records its last outcome through the writer. A
        // message queued from here on waits in the outbox for the next start.
        notifier.stop()
        // Before the writer closes: the janitor's delete job in progress is awaited.
        await janitor.stop()
        // After every worker that claims gave its claims back, before the database closes: what this hub still
        // holds (a resolution cut off by the stop) is free to the other hubs at once.
        liveness?.stop()
        hubLedger.close()
        writer.close()
        readers.close()
        logger.info("shut down: database closed")
    }

    /// Headers on every static and HTTP response: no inline script (CSP), no MIME sniffing, no framing, no
    /// referrer leaks, and HSTS when serving TLS. `connect-src 'self'` lets the page open its own ws:/wss:
    /// origin (CSP Level 3 matches ws/wss to 'self') and no other host.
    static func securityHeaders(tls: Bool) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if tls { headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains")) }
        return headers
    }
}

public struct HubStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
