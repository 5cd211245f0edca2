import ArgumentParser
import BankHub
import Dispatch
import Foundation
import Glibc
import Logging
import WebSocketTransport

/// `bankhub serve`: runs the hub until SIGTERM or SIGINT, then shuts down gracefully.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one and prints it).") var port = 8080
    @Flag(help: "Share --port with other hubs on this machine that also pass it (SO_REUSEPORT; the kernel spreads new connections).")
    var reusePort = false
    @Option(help: "SQLite database file (created if missing); unused with --database.") var db = "./data/bankhub.sqlite"
    @Option(help: ArgumentHelp("Run on this PostgreSQL database instead of SQLite (migrated at start; one hub per database). Needs BANKHUB_CODE_KEY or --code-key-file.",
                               valueName: "postgresql://USER@HOST:PORT/DB"))
    var database: String?
    @Option(help: "File of the one-time-code key (created with a fresh key, mode 0600, when missing); default: <db>.code-key beside the SQLite file.")
    var codeKeyFile: String?
    @Option(help: "Folder of static files served at /.") var web = "./web"
    @Flag(help: "Seed demo customers, accounts and history into an empty database and print their credentials.")
    var demo = false
    @Option(help: "Event loop: libev or poll.") var eventLoop = "libev"
    @Option(help: "Largest inbound message, in bytes.") var messageBytesMax = 65_536
    @Option(help: "A host name (as in the Host header, without port) accepted besides loopback and --host (repeatable).")
    var allowedHost: [String] = []
    @Option(help: "Open WebSocket connections in all (default: open-file limit less 5 %, \(WebSocketServerConfiguration().connectionsMax) here).")
    var connectionsMax: Int?
    @Option(help: "Open WebSocket connections from one peer address (behind a local reverse proxy, raise it to --connections-max).")
    var connectionsPerAddressMax = WebSocketServerConfiguration().connectionsPerAddressMax
    @Option(help: "Hours a login token stays valid.") var sessionTtlHours = 24
    @Option(help: "PBKDF2-HMAC-SHA256 iterations for new password hashes.") var passwordIterations = 600_000
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Log format: text (one readable line each) or json (one JSON object per line).") var logFormat = "text"
    @Option(help: "Seconds after SIGTERM during which /readyz answers 503 while requests are still served.")
    var drainSeconds = 0
    @Option(help: "Port for GET /metrics in the Prometheus text format, on a listener of its own (0 picks a free one and prints it; off when not given).")
    var metricsPort: Int?
    @Option(help: "Address the metrics listener binds to (keep it private: the page shows load and error counts).")
    var metricsHost = "127.0.0.1"
    @OptionGroup(title: "Security") var security: SecurityOptions
    @OptionGroup(title: "Notifications") var notifications: NotifyOptions
    @OptionGroup(title: "Several hubs") var bus: BusOptions

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel): use one of trace, debug, info, notice, warning, error, critical")
        }
        guard logFormat == "text" || logFormat == "json" else {
            throw ValidationError("--log-format \(logFormat): use text or json")
        }
        guard EventLoop(rawValue: eventLoop) != nil else {
            throw ValidationError("--event-loop \(eventLoop): use libev or poll")
        }
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port \(metricsPort): use 0...65535")
        }
        if let database, !(database.hasPrefix("postgresql://") || database.hasPrefix("postgres://")) {
            throw ValidationError("--database \(database): use a postgresql://USER@HOST:PORT/DB URL")
        }
        if database != nil, codeKeyFile == nil, ProcessInfo.processInfo.environment["BANKHUB_CODE_KEY"]?.isEmpty ?? true {
            throw ValidationError("--database needs the one-time-code key outside the database: set BANKHUB_CODE_KEY or --code-key-file")
        }
        try bus.validate(database: database)
        if let connectionsMax, connectionsMax < 1 { throw ValidationError("--connections-max must be at least 1") }
        guard connectionsPerAddressMax >= 1 else { throw ValidationError("--connections-per-address-max must be at least 1") }
    }

    func run() async throws {
        let logger = HubLogging.bootstrap(format: logFormat, level: Logger.Level(rawValue: logLevel)!)
        var options = HubServer.Options()
        options.databasePath = db
        options.databaseURL = database
        options.hub.codeKeyFile = codeKeyFile
        options.transport.host = host
        options.transport.port = port
        options.transport.reusePort = reusePort
        options.transport.webRoot = web
        options.transport.messageBytesMax = messageBytesMax
        options.transport.eventLoop = EventLoop(rawValue: eventLoop)!
        options.transport.log = HubLogging.transportLog(logger)
        options.transport.allowedHosts = allowedHost
        if let connectionsMax { options.transport.connectionsMax = connectionsMax }
        options.transport.connectionsPerAddressMax = connectionsPerAddressMax
        options.hub.sessionLifetimeHours = sessionTtlHours
        options.hub.passwordIterations = passwordIterations
        options.hub.shutdownDrainMilliseconds = max(0, drainSeconds) * 1_000
        try security.apply(to: &options)
        try notifications.apply(to: &options)
        bus.apply(to: &options)
        // Bootstrapped before the hub opens, so everything it records reaches the registry.
        let hubForMetrics = HubReference()
        let metrics = metricsPort.map { port in
            MetricsEndpoint(host: metricsHost, port: port, hub: { hubForMetrics.server }, log: options.transport.log)
        }
        let server = try await HubServer.open(options, logger: logger)
        hubForMetrics.server = server
        if demo {
            for credential in try await server.seedDemo() {
                let accounts = credential.accounts.isEmpty ? "" : " accounts \(credential.accounts.joined(separator: ", "))"
                let role = credential.accounts.isEmpty ? "staff" : "customer"
                Console.line("demo \(role) \(credential.username) password \(credential.password)\(accounts)")
            }
        }
        // Handlers first: a SIGTERM sent as soon as the "listening" line appears must start the drain.
        let signals = Self.onTerminationSignal { Task { await server.shutdown() } }
        let boundPort = try server.start()
        Console.line("bankhub listening on \(security.scheme)://\(host):\(boundPort) (WebSocket /ws, subprotocol bankhub.v1), database \(database.map(Self.withoutPassword) ?? db)\(bus.bus == nil ? "" : ", bus " + bus.displayURLs)")
        if let metrics {
            let metricsBoundPort: Int
            do {
                metricsBoundPort = try metrics.start()
            } catch {
                await server.shutdown()
                throw error
            }
            Console.line("bankhub metrics on http://\(metricsHost):\(metricsBoundPort)/metrics")
        }
        await server.run()
        await server.shutdown()
        metrics?.shutdown()
        withExtendedLifetime(signals) {}
    }

    /// The URL as printed: a password in it (`user:secret@`) is masked.
    static func withoutPassword(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// SIGTERM and SIGINT start a graceful shutdown instead of killing the process.
    private static func onTerminationSignal(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
