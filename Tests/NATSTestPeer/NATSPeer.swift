import Foundation
import PeerSupport

/// A real `nats-server` child process on 127.0.0.1 and a free port. `stop()` and `start()` keep the port, so
/// clients can be tested across a server outage.
public final class NATSPeer: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns the peer, one call at a time.
    public let port: Int
    public var url: String { "nats://127.0.0.1:\(port)" }
    private var process: Process?
    private let logPath: String
    /// What clients must present: nats-server's `--user`/`--pass` or `--auth` arguments; none by default.
    private let authArguments: [String]

    /// How clients authenticate to the peer.
    public enum Auth: Sendable {
        case none
        case user(String, password: String)
        case token(String)
    }

    /// Starts nats-server on a free port and waits until it accepts connections; with `auth`, clients must
    /// present those credentials (`url(user:password:)`, `url(token:)`).
    public static func start(auth: Auth = .none) async throws -> NATSPeer {
        let peer = NATSPeer(port: try LoopbackPorts.unused(), auth: auth)
        try await peer.start()
        return peer
    }

    private init(port: Int, auth: Auth) {
        self.port = port
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("nats-peer-\(port).log").path
        authArguments = switch auth {
        case .none: []
        case .user(let user, let password): ["--user", user, "--pass", password]
        case .token(let token): ["--auth", token]
        }
    }

    /// The URL with a user and password before the host.
    public func url(user: String, password: String) -> String { "nats://\(user):\(password)@127.0.0.1:\(port)" }

    /// The URL with a token before the host.
    public func url(token: String) -> String { "nats://\(token)@127.0.0.1:\(port)" }

    deinit { stop() }

    /// Starts (again) on the same port.
    public func start() async throws {
        precondition(process == nil, "nats-server already running")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.serverPath())
        process.arguments = ["-a", "127.0.0.1", "-p", String(port)] + authArguments
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if LoopbackPorts.accepts(port: port) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        stop()
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw PeerError(message: "nats-server did not start on port \(port): \(log)")
    }

    /// Kills the server (SIGKILL: clients see the connection drop, as in a crash) and waits for it to exit.
    public func stop() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    private static func serverPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]
            + path.split(separator: ":").map { "\($0)/nats-server" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PeerError(message: "nats-server not found (apt install nats-server)")
        }
        return found
    }


}
