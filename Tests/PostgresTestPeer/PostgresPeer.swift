import Foundation
import PeerSupport

/// A throwaway PostgreSQL server for tests: `initdb` in a temporary directory, `postgres` on a free port of
/// 127.0.0.1 with its socket in that directory and fsync on, started and stopped with `pg_ctl`. When the tests
/// run as root, everything runs as the `postgres` user (`runuser`), which owns the directory: PostgreSQL
/// refuses to run as root. It can be stopped and started again on the same port and data, for fault tests.
public final class PostgresPeer: Sendable {
    public static let binaries = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin")

    public let port: Int
    public let directory: URL
    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    /// A libpq connection string for the peer's `postgres` database as the `postgres` superuser.
    public var conninfo: String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=5"
    }

    private init(port: Int, directory: URL) {
        self.port = port
        self.directory = directory
    }

    /// Creates a cluster and starts it.
    public static func start(maxConnections: Int = 40) throws -> PostgresPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pg-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if getuid() == 0 { try run("/bin/chown", ["postgres:postgres", directory.path], asPostgres: false) }
        let peer = PostgresPeer(port: try unusedPort(), directory: directory)
        try run(binaries.appendingPathComponent("initdb").path,
                ["-D", peer.dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        try peer.appendConfiguration(maxConnections: maxConnections)
        try peer.startServer()
        return peer
    }

    private func appendConfiguration(maxConnections: Int) throws {
        let settings = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory.path)'
            fsync = on
            synchronous_commit = on
            max_connections = \(maxConnections)
            shared_buffers = 64MB
            logging_collector = off

            """
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data(settings.utf8))
    }

    /// Starts the server on its port and waits until it accepts connections.
    public func startServer() throws {
        try Self.run(Self.binaries.appendingPathComponent("pg_ctl").path,
                     ["-D", dataDirectory, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "30",
                      "start"])
    }

    /// Stops the server: `fast` ends sessions and checkpoints; `immediate` is like a crash (recovery at start).
    public func stopServer(immediate: Bool = false) throws {
        try Self.run(Self.binaries.appendingPathComponent("pg_ctl").path,
                     ["-D", dataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "-t", "30", "stop"])
    }

    /// Stops the server and removes its files.
    public func stop() {
        try? stopServer(immediate: true)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The server's log so far (for a failing test's message).
    public var serverLog: String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }

    /// Runs a PostgreSQL program to its end (as `postgres` when root); throws with its output when it fails.
    ///
    /// posix_spawn and waitpid rather than Foundation's `Process`: the server that `pg_ctl start` leaves
    /// running inherits what `Process` watches its child with, and `waitUntilExit` would never return.
    private static func run(_ path: String, _ arguments: [String], asPostgres: Bool = true) throws {
        let command = asPostgres && getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", path] + arguments
                                                   : [path] + arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("pg-peer-run-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // C strings for argv, freed after the spawn.
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw PeerError(message: "cannot start \(command[0]): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // Exited normally with status 0: the low 7 bits (signal) and the exit code (bits 8-15) are zero.
        guard status == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw PeerError(message: "\(URL(fileURLWithPath: path).lastPathComponent) failed (\(status)): \(text)")
        }
    }

    /// A local port that nothing listens on (bound, then released).
    public static func unusedPort() throws -> Int {
        try LoopbackPorts.unused()
    }
}
