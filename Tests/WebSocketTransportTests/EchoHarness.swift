import Foundation
import Synchronization
import Testing
import WebSocketClient
import WebSocketTransport

/// A real server on an ephemeral port, with a temporary web root, whose single consumer echoes
/// every message back to its sender. No mocks: tests talk to it over loopback sockets.
final class EchoHarness: Sendable {
    static let indexHTML = "<!doctype html><title>BankHub test</title><p>hello</p>\n"
    static let healthBody = Array(#"{"status":"ok"}"#.utf8)
    static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", "default-src 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]

    let server: WebSocketServer
    let webRoot: URL
    private let openConnections = OpenConnections()
    private let consumer: Task<Void, Never>

    init(echo: Bool = true, configure: (inout WebSocketServerConfiguration) -> Void = { _ in }) throws {
        webRoot = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: webRoot, withIntermediateDirectories: true)
        try Data(Self.indexHTML.utf8).write(to: webRoot.appendingPathComponent("index.html"))
        var configuration = WebSocketServerConfiguration()
        configuration.port = 0
        configuration.webRoot = webRoot.path
        configuration.responseHeaders = Self.securityHeaders
        configuration.shutdownGraceSeconds = 2
        configure(&configuration)
        let server = WebSocketServer(configuration: configuration, health: { EchoHarness.healthBody })
        try server.start()
        self.server = server
        let openConnections = self.openConnections
        consumer = Task.detached {
            for await event in server.events {
                switch event {
                case .opened(let id, let info):
                    openConnections.ids.withLock { $0.append(id) }
                    openConnections.infos.withLock { $0[id] = info }
                case .message(let id, let bytes):
                    if echo { server.send(bytes, to: id) }
                    server.consumed(id)
                case .binaryMessage(let id, let bytes):
                    if echo { server.send(bytes, to: id, kind: .binary) }
                    server.consumed(id)
                case .closed(let id):
                    openConnections.ids.withLock { $0.removeAll { $0 == id } }
                    openConnections.closedAt.withLock { $0[id] = .now }
                }
            }
        }
    }

    var port: Int { server.port }

    func connect(path: String = "/ws", subprotocol: String? = "bankhub.v1", origin: String? = nil,
                 receiveBufferBytes: Int? = nil) async throws -> WebSocketConnection {
        try await WebSocketConnection.connect(host: "127.0.0.1", port: port, path: path,
                                              subprotocol: subprotocol, origin: origin,
                                              receiveBufferBytes: receiveBufferBytes)
    }

    /// When the server reported `id` closed, waiting up to `timeout` for it; nil if it stayed open.
    func closedInstant(of id: ConnectionID, timeout: Duration) async throws -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let instant = openConnections.closedAt.withLock({ $0[id] }) { return instant }
            try await Task.sleep(for: .milliseconds(20))
        }
        return openConnections.closedAt.withLock { $0[id] }
    }

    /// The server-side id of the only open connection, once the server has reported it.
    func soleConnectionID() async throws -> ConnectionID {
        for _ in 0..<500 {
            if let id = openConnections.ids.withLock({ $0.count == 1 ? $0.first : nil }) { return id }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the server never reported exactly one open connection")
        throw WebSocketClientError.timedOut
    }

    /// The server-side ids of the open connections, oldest first, once the server has reported `count` of them.
    func connectionIDs(count: Int) async throws -> [ConnectionID] {
        for _ in 0..<500 {
            let ids = openConnections.ids.withLock { $0 }
            if ids.count == count { return ids }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the server never reported \(count) open connections")
        throw WebSocketClientError.timedOut
    }

    /// What the server reported when `id` opened.
    func info(of id: ConnectionID) -> ConnectionInfo? {
        openConnections.infos.withLock { $0[id] }
    }

    func stop() {
        server.shutdown()
        consumer.cancel()
        try? FileManager.default.removeItem(at: webRoot)
    }
}

/// Ids of the connections the server reported open and not yet closed.
final class OpenConnections: Sendable {
    let ids = Mutex<[ConnectionID]>([])
    let infos = Mutex<[ConnectionID: ConnectionInfo]>([:])
    /// When the server reported each connection closed.
    let closedAt = Mutex<[ConnectionID: ContinuousClock.Instant]>([:])
}

extension WebSocketConnection {
    /// The next message, which must be text.
    func receiveText(timeout: Duration = .seconds(5)) async throws -> String? {
        if case .text(let text) = try await receive(timeout: timeout) { return text }
        return nil
    }
}
