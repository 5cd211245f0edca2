import BankHub
import Foundation
import Glibc
import Logging
import WebSocketTransport

/// The hub a scenario runs against: one it starts in this process on a temporary database (the default),
/// a `bankhub serve` child process (when the hub's own memory must be measured apart from the client's),
/// or a running hub given by `--url`.
///
/// Hubs started here hash new passwords with 1,000 PBKDF2 iterations instead of 600,000, so that setting up
/// thousands of users takes seconds (logins are setup, not what is measured), and run with rate limits off
/// and the transfer-burst threat threshold out of reach (`--no-rate-limits --burst-transfers 1000000000`):
/// a load generator is one client sending far more than any customer would. All its connections come from
/// loopback, so the per-address connection limit is raised to the total (`--connections-per-address-max`).
final class BenchTarget: Sendable {
    enum Kind: Sendable { case inProcess, child, external }

    let address: HubAddress
    let kind: Kind
    /// The SQLite file, when known (started here, or `--db` with `--url`): the ledger check reads it.
    let databasePath: String?
    /// The hub's process id: this process, or the child.
    let processID: Int32
    private let directory: URL?
    private let stopHub: @Sendable () async -> Void

    private init(address: HubAddress, kind: Kind, databasePath: String?, processID: Int32, directory: URL?,
                 stopHub: @escaping @Sendable () async -> Void) {
        self.address = address
        self.kind = kind
        self.databasePath = databasePath
        self.processID = processID
        self.directory = directory
        self.stopHub = stopHub
    }

    static let burstTransfersPerMinute = 1_000_000_000

    /// The child hub's connection limit: the open-file limit less 256 files for its database, readers and HTTP
    /// (the default keeps 5 %, which leaves no room beside 19,000 measured connections for the setup link).
    static let childConnectionsMax: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return WebSocketServerConfiguration().connectionsMax }
        return max(64, Int(min(limit.rlim_cur, 1 << 30)) - 256)
    }()

    static func start(_ options: BenchOptions, child: Bool = false) async throws -> BenchTarget {
        if let url = options.url {
            return BenchTarget(address: try HubAddress(url: url), kind: .external, databasePath: options.db,
                               processID: 0, directory: nil, stopHub: {})
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("bench.sqlite").path
        return child ? try await startChild(directory: directory, databasePath: path)
                     : try await startInProcess(directory: directory, databasePath: path)
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
        return BenchTarget(address: HubAddress(host: "127.0.0.1", port: port), kind: .inProcess,
                           databasePath: databasePath, processID: getpid(), directory: directory) {
            await server.shutdown()
            await runner.value
        }
    }

    /// Runs `bankhub serve` (the `bankhub` executable next to this one) and waits for its "listening" line.
    private static func startChild(directory: URL, databasePath: String) async throws -> BenchTarget {
        let executable = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().appendingPathComponent("bankhub").path
        let output = directory.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--db", databasePath,
                             "--web", directory.path, "--password-iterations", "1000", "--log-level", "warning",
                             "--no-rate-limits", "--burst-transfers", String(burstTransfersPerMinute),
                             "--connections-max", String(childConnectionsMax),
                             "--connections-per-address-max", String(childConnectionsMax)]
        let log = try FileHandle(forWritingTo: output)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let pid = process.processIdentifier
        let stop: @Sendable () async -> Void = {
            kill(pid, SIGTERM)
            while kill(pid, 0) == 0 {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { break }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        for _ in 0..<500 {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let range = text.range(of: "://127.0.0.1:") {
                let port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                return BenchTarget(address: HubAddress(host: "127.0.0.1", port: port), kind: .child,
                                   databasePath: databasePath, processID: pid, directory: directory, stopHub: stop)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await stop()
        throw BenchError("bankhub serve did not start: " + ((try? String(contentsOf: output, encoding: .utf8)) ?? ""))
    }

    /// Shuts the hub down (started here) so every commit is on disk before the ledger check reads the file.
    func stop() async { await stopHub() }

    /// Removes the temporary database (started here only).
    func removeFiles() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// The hub process's resident memory in bytes (VmRSS), or nil when it cannot be read.
    func residentBytes() -> Int? {
        guard processID > 0,
              let status = try? String(contentsOfFile: "/proc/\(processID)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return nil }
        return kilobytes * 1_024
    }
}
