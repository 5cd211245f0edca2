import Foundation
import PeerSupport

/// A real SMTP server (aiosmtpd, via smtp_peer.py) in a child process on 127.0.0.1, and the messages it
/// received, as decoded by Python's email package.
public final class SMTPPeer {
    public struct Options {
        public var port = 0
        public var startTLS = false
        public var auth: (user: String, password: String)?
        public var mechanisms = "PLAIN LOGIN"

        public init(port: Int = 0, startTLS: Bool = false, auth: (user: String, password: String)? = nil,
                    mechanisms: String = "PLAIN LOGIN") {
            self.port = port
            self.startTLS = startTLS
            self.auth = auth
            self.mechanisms = mechanisms
        }
    }

    public struct Received {
        public let mailFrom: String
        public let recipients: [String]
        public let subject: String
        public let body: String
        public let headers: [String: String]
        public let raw: String
        public let tls: Bool
        public let authUser: String?
    }

    public let port: Int
    public let directory: URL
    private let process: Process

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_peer.py")

    public var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
    private var inbox: URL { directory.appendingPathComponent("inbox") }

    private init(process: Process, port: Int, directory: URL) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts the peer and waits (polling, without blocking a thread) until it listens.
    public static func start(_ options: Options = Options()) async throws -> SMTPPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-peer-\(UUID().uuidString)")
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let ready = directory.appendingPathComponent("port")
        var arguments = [script.path, "--dir", inbox.path, "--ready-file", ready.path, "--port", String(options.port),
                         "--mechanisms", options.mechanisms]
        if options.startTLS {
            try makeCertificate(in: directory)
            arguments += ["--cert", directory.appendingPathComponent("cert.pem").path,
                          "--key", directory.appendingPathComponent("key.pem").path]
        }
        if let auth = options.auth { arguments += ["--auth", "\(auth.user):\(auth.password)"] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardError = try FileHandle(forWritingTo: touch(directory.appendingPathComponent("stderr.log")))
        try process.run()
        for _ in 0..<200 {
            if let text = try? String(contentsOf: ready, encoding: .utf8), let port = Int(text) {
                return SMTPPeer(process: process, port: port, directory: directory)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        let log = (try? String(contentsOf: directory.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
        throw PeerError(message: "smtp_peer.py did not start (is aiosmtpd installed?): \(log)")
    }

    /// A self-signed certificate for localhost and 127.0.0.1, from the openssl command-line tool.
    private static func makeCertificate(in directory: URL) throws {
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                             "-days", "1", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                             "-keyout", directory.appendingPathComponent("key.pem").path,
                             "-out", directory.appendingPathComponent("cert.pem").path]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw PeerError(message: "openssl req failed") }
    }

    private static func touch(_ url: URL) -> URL {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return url
    }

    /// The messages received so far, oldest first.
    public func received() throws -> [Received] {
        let names = try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: inbox.appendingPathComponent(name))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw PeerError(message: "\(name) is not a JSON object")
            }
            return Received(mailFrom: object["mail_from"] as? String ?? "", recipients: object["rcpt_tos"] as? [String] ?? [],
                            subject: object["subject"] as? String ?? "", body: object["body"] as? String ?? "",
                            headers: object["headers"] as? [String: String] ?? [:], raw: object["raw"] as? String ?? "",
                            tls: object["tls"] as? Bool ?? false, authUser: object["auth_user"] as? String)
        }
    }

    /// Waits until at least `count` messages arrived (or `timeout` passes) and returns them all.
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [Received] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let messages = try received()
            if messages.count >= count { return messages }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try received()
    }

    /// Kills the peer (SIGKILL: the test runner's children inherit a mask that blocks SIGTERM) and removes
    /// its files.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A local port that nothing listens on (bound, then released).
    public static func unusedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        return try LoopbackPorts.bind(descriptor)
    }

    /// A socket that listens but never accepts or speaks: connecting succeeds (the kernel's backlog), and
    /// then no greeting ever comes. Returns the descriptor (close it) and the port.
    public static func silentListener() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let port = try LoopbackPorts.bind(descriptor)
        guard listen(descriptor, 8) == 0 else { throw PeerError(message: "listen failed") }
        return (descriptor, port)
    }
}
