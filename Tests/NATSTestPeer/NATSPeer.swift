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
    /// What clients must present: nats-server's `--user`/`--pass` or `--auth` arguments (or `-c` and a
    /// configuration file for NKeys and operator mode), and its `--tls` ones.
    private let serverArguments: [String]

    /// How clients authenticate to the peer.
    public enum Auth: Sendable {
        case none
        case user(String, password: String)
        case token(String)
        /// NKey users: the server lists their public keys (`U…`) in a configuration file
        /// (`authorization { users = [ { nkey: U… } ] }`) and each client signs the server's nonce with its seed.
        case nkeys([String])
        /// Operator mode (decentralized auth): the operator's JWT and its accounts' JWTs (public key → JWT),
        /// preloaded into a memory resolver; clients present a user JWT an account signed (a `.creds` file).
        case operatorMode(operatorJWT: String, accounts: [String: String])
    }

    /// Starts nats-server on a free port and waits until it accepts connections; with `auth`, clients must
    /// present those credentials (`url(user:password:)`, `url(token:)`); with `tls`, it speaks only TLS with
    /// that certificate (`TestCertificates`).
    public static func start(auth: Auth = .none, tls: TestCertificates? = nil) async throws -> NATSPeer {
        let peer = NATSPeer(port: try LoopbackPorts.unused(), auth: auth, tls: tls)
        try await peer.start()
        return peer
    }

    private init(port: Int, auth: Auth, tls: TestCertificates?) {
        self.port = port
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("nats-peer-\(port).log").path
        let credentials: [String] = switch auth {
        case .none: []
        case .user(let user, let password): ["--user", user, "--pass", password]
        case .token(let token): ["--auth", token]
        case .nkeys(let publicKeys):
            Self.configFile(port: port, "authorization { users = [ "
                + publicKeys.map { "{ nkey: \"\($0)\" }" }.joined(separator: ", ") + " ] }\n")
        case .operatorMode(let operatorJWT, let accounts):
            Self.configFile(port: port, "operator: \"\(operatorJWT)\"\nresolver: MEMORY\nresolver_preload: {\n"
                + accounts.map { "  \($0.key): \"\($0.value)\"\n" }.joined() + "}\n")
        }
        serverArguments = credentials + (tls.map { ["--tls", "--tlscert", $0.certificateFile, "--tlskey", $0.keyFile] } ?? [])
    }

    /// `-c PATH` for a configuration file holding `text`, written in the temporary directory.
    private static func configFile(port: Int, _ text: String) -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nats-peer-\(port).conf").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return ["-c", path]
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
        process.arguments = ["-a", "127.0.0.1", "-p", String(port)] + serverArguments
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

/// A throwaway certificate authority and a server certificate it signed for `host` (DNS name), made with the
/// `openssl` command in a temporary directory, for a TLS nats-server.
public struct TestCertificates: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String

    public static func make(host: String) throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nats-tls-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (ca, caKey) = ("\(directory)/ca.pem", "\(directory)/ca-key.pem")
        let (certificate, key, request) = ("\(directory)/server.pem", "\(directory)/server-key.pem", "\(directory)/server.csr")
        let extensions = "\(directory)/server.ext"
        try "subjectAltName=DNS:\(host)\n".write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "1",
                     "-subj", "/CN=bankhub test CA"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", "/CN=\(host)"])
        try openssl(["x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", certificate,
                     "-days", "1", "-extfile", extensions])
        return TestCertificates(caFile: ca, certificateFile: certificate, keyFile: key)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PeerError(message: "openssl \(arguments.first ?? "") failed (\(process.terminationStatus))")
        }
    }
}
