import BankHub
import Foundation
import Glibc
import Logging
import WebSocketTransport

/// The hub a scenario runs against: a `bankhub serve` child process on a temporary database (the default, so
/// the hub's CPU time and memory are measured apart from the load generator's), one started in this process
/// (`--in-process`), or running hubs given by `--url` (with `--hub-pid`, their CPU time is measured too). Several
/// `--url`s are hubs of one bank (one PostgreSQL database, one bus): a scenario spreads its connections over
/// them (``HubSpread``) and sets up its customers through the first.
///
/// Hubs started here hash new passwords with 1,000 PBKDF2 iterations instead of 600,000, so that setting up
/// thousands of users takes seconds (logins are setup, not what is measured), and run with rate limits off
/// and the transfer-burst threat threshold out of reach (`--no-rate-limits --burst-transfers 1000000000`):
/// a load generator is one client sending far more than any customer would. All its connections come from
/// loopback, so the per-address connection limit is raised to the total (`--connections-per-address-max`).
final class BenchTarget: Sendable {
    enum Kind: Sendable { case inProcess, child, external }

    /// Every hub, in the order of `--url` (one when started here).
    let hubs: [HubAddress]
    let kind: Kind
    /// The SQLite file, when known (started here, or `--db` with `--url`): the ledger check reads it.
    let databasePath: String?
    /// The hubs' PostgreSQL database (`--database` with `--url`): the ledger check reads it.
    let databaseURL: String?
    /// The hubs' process ids in the order of `hubs`: this process, the child, or `--hub-pid` (empty when not known).
    let processIDs: [Int32]
    private let directory: URL?
    private let stopHub: @Sendable () async -> Void

    private init(hubs: [HubAddress], kind: Kind, databasePath: String?, databaseURL: String? = nil,
                 processIDs: [Int32], directory: URL?, stopHub: @escaping @Sendable () async -> Void) {
        precondition(!hubs.isEmpty && (processIDs.isEmpty || processIDs.count == hubs.count), "a process id per hub")
        self.hubs = hubs
        self.kind = kind
        self.databasePath = databasePath
        self.databaseURL = databaseURL
        self.processIDs = processIDs
        self.directory = directory
        self.stopHub = stopHub
    }

    /// The first hub: where customers are set up and, with several hubs, where payers send from.
    var address: HubAddress { hubs[0] }

    static let burstTransfersPerMinute = 1_000_000_000

    /// The child hub's connection limit: the open-file limit less 256 files for its database, readers and HTTP
    /// (the default keeps 5 %, which leaves no room beside 19,000 measured connections for the setup link).
    static let childConnectionsMax: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return WebSocketServerConfiguration().connectionsMax }
        return max(64, Int(min(limit.rlim_cur, 1 << 30)) - 256)
    }()

    static func start(_ options: BenchOptions) async throws -> BenchTarget {
        if !options.url.isEmpty {
            return BenchTarget(hubs: try options.url.map(HubAddress.init(url:)), kind: .external,
                               databasePath: options.db, databaseURL: options.database, processIDs: options.hubPid,
                               directory: nil, stopHub: {})
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("bench.sqlite").path
        do {
            return options.inProcess ? try await startInProcess(directory: directory, databasePath: path)
                                     : try await startChild(directory: directory, databasePath: path)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private static func startInProcess(directory: URL, databasePath: String) async throws -> BenchTarget {
        var options = HubServer.Options()
        options.databasePath = databasePath
        options.transport.port = 0
        options.transport.log = { _ in }
        options.transport.connectionsPerAddressMax = options.transport.connectionsMax
        options.hub.passwordIterations = 1_000
        options.hub.security.rateLimitsEnabled = false
        options.hub.security.burstTransfersPerMinute = burstTransfersPerMinute
        var logger = Logger(label: "bankhub-bench")
        logger.logLevel = .warning
        let server = try await HubServer.open(options, logger: logger)
        let port = try server.start()
        let runner = Task.detached { await server.run() }
        return BenchTarget(hubs: [HubAddress(host: "127.0.0.1", port: port)], kind: .inProcess,
                           databasePath: databasePath, processIDs: [getpid()], directory: directory) {
            await server.shutdown()
            await runner.value
        }
    }

    private static func startChild(directory: URL, databasePath: String) async throws -> BenchTarget {
        let child = try await HubChild.start(directory: directory, databasePath: databasePath)
        let pid = child.processID
        return BenchTarget(hubs: [HubAddress(host: "127.0.0.1", port: child.port)], kind: .child,
                           databasePath: databasePath, processIDs: [pid], directory: directory) { HubChild.stop(pid) }
    }

    /// Shuts the hub down (started here) so every commit is on disk before the ledger check reads the file.
    func stop() async { await stopHub() }

    /// Stops a child hub still running (a scenario that failed half-way) and removes the temporary database
    /// (started here only). For a `defer` at the top of every scenario.
    func removeFiles() {
        if kind == .child { HubChild.stop(processIDs[0]) }
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The hubs' processes when they are not this one (a child, or `--hub-pid`): only then is their CPU time
    /// their own. Empty otherwise.
    var separateProcessIDs: [Int32] {
        kind != .inProcess ? processIDs : []
    }

    /// What the report's `target` says: `child`, `in-process`, or the URLs (space-separated).
    var label: String {
        switch kind {
        case .child: "child"
        case .inProcess: "in-process"
        case .external: hubs.map { "ws://\($0.host):\($0.port)\($0.path)" }.joined(separator: " ")
        }
    }

    /// Each hub process's resident memory in bytes, in the order of `hubs`; nil for one that cannot be read
    /// (empty when the process ids are not known).
    func residentBytes() -> [Int?] {
        processIDs.map(Self.residentBytes(of:))
    }

    /// A process's resident memory in bytes (VmRSS from /proc/PID/status), or nil when it cannot be read.
    static func residentBytes(of processID: Int32) -> Int? {
        guard processID > 0,
              let status = try? String(contentsOfFile: "/proc/\(processID)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return nil }
        return kilobytes * 1_024
    }
}
