import Foundation
import Glibc

/// A real SMTP server for the notifier tests: Tests/SMTPClientTests/smtp_peer.py (aiosmtpd) in a child process
/// on 127.0.0.1. Each received message is a JSON file decoded by Python's email package.
final class SMTPTestPeer {
    struct Received {
        let recipients: [String]
        let subject: String
        let body: String
    }

    let port: Int
    private let directory: URL
    private let process: Process

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SMTPClientTests").appendingPathComponent("smtp_peer.py")

    private var inbox: URL { directory.appendingPathComponent("inbox") }

    private init(process: Process, port: Int, directory: URL) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts the peer on `port` (0: a free one) and waits, polling, until it listens.
    static func start(port: Int = 0) async throws -> SMTPTestPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("inbox"),
                                                withIntermediateDirectories: true)
        let ready = directory.appendingPathComponent("port")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--dir", directory.appendingPathComponent("inbox").path,
                             "--ready-file", ready.path, "--port", String(port)]
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let text = try? String(contentsOf: ready, encoding: .utf8), let bound = Int(text) {
                return SMTPTestPeer(process: process, port: bound, directory: directory)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        throw HubClient.Failure(reply: .string("smtp_peer.py did not start (is aiosmtpd installed?)"))
    }

    /// The messages received so far, oldest first.
    func received() throws -> [Received] {
        let names = try FileManager.default.contentsOfDirectory(atPath: inbox.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: inbox.appendingPathComponent(name)))
            let fields = object as? [String: Any] ?? [:]
            return Received(recipients: fields["rcpt_tos"] as? [String] ?? [], subject: fields["subject"] as? String ?? "",
                            body: fields["body"] as? String ?? "")
        }
    }

    /// Waits until at least `count` messages arrived (or `timeout` passes) and returns them all.
    func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [Received] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline, try received().count < count {
            try await Task.sleep(for: .milliseconds(50))
        }
        return try received()
    }

    /// Kills the peer (SIGKILL: the test runner's children inherit a mask that blocks SIGTERM).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A local port nothing listens on (bound to 127.0.0.1, then released).
    static func unusedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw HubClient.Failure(reply: .string("cannot bind a probe socket")) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
