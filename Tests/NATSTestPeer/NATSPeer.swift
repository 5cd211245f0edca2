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

    /// Starts nats-server on a free port and waits until it accepts connections.
    public static func start() async throws -> NATSPeer {
        let peer = NATSPeer(port: try LoopbackPorts.unused())
        try await peer.start()
        return peer
    }

    private init(port: Int) {
        self.port = port
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("nats-peer-\(port).log").path
    }

    deinit { stop() }

    /// Starts (again) on the same port.
    public func start() async throws {
        precondition(process == nil, "nats-server already running")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.serverPath())
        process.arguments = ["-a", "127.0.0.1", "-p", String(port)]
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
