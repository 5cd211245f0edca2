import Foundation
import Synchronization
import Testing
import WebSocketClient
import WebSocketTransport

/// Inbound back-pressure: an application that falls behind stops the transport from reading that socket, so
/// a flooding client cannot grow the server's inbound backlog beyond `inboundMessagesMax`.
@Suite(.serialized) struct BackpressureTests {
    /// A server whose application takes messages but reports them consumed only when told to.
    final class Inbox: Sendable {
        let messages = Mutex<[(ConnectionID, String)]>([])
    }

    final class SlowApplication: Sendable {
        let server: WebSocketServer
        let inbox = Inbox()
        private let consumer: Task<Void, Never>

        init(inboundMessagesMax: Int, inboundBytesMax: Int = 1 << 20) throws {
            var configuration = WebSocketServerConfiguration()
            configuration.port = 0
            configuration.webRoot = nil
            configuration.inboundMessagesMax = inboundMessagesMax
            configuration.inboundBytesMax = inboundBytesMax
            configuration.shutdownGraceSeconds = 1
            let server = WebSocketServer(configuration: configuration, health: { [] })
            try server.start()
            self.server = server
            let inbox = self.inbox
            consumer = Task.detached {
                for await event in server.events {
                    if case .message(let id, let bytes) = event {
                        inbox.messages.withLock { $0.append((id, String(decoding: bytes, as: UTF8.self))) }
                    }
                }
            }
        }

        var count: Int { inbox.messages.withLock { $0.count } }

        /// Takes every message received so far and reports it consumed.
        func consumeAll() -> [String] {
            let taken = inbox.messages.withLock { messages in
                defer { messages.removeAll() }
                return messages
            }
            for (id, _) in taken { server.consumed(id) }
            return taken.map(\.1)
        }

        func stop() {
            server.shutdown()
            consumer.cancel()
        }
    }

    /// 300 messages flood in; with nothing consumed, at most about `inboundMessagesMax` are handed over; each
    /// time the application catches up, reading resumes, and in the end every message arrives once, in order.
    @Test func stopsReadingWhileTheApplicationIsBehind() async throws {
        let application = try SlowApplication(inboundMessagesMax: 8)
        defer { application.stop() }
        let client = try await WebSocketConnection.connect(port: application.server.port, path: "/ws",
                                                           subprotocol: "bankhub.v1")
        for index in 0..<300 { try await client.send("message \(index)") }
        try await Task.sleep(for: .milliseconds(500))
        #expect(application.count >= 8)
        #expect(application.count <= 16, "the transport kept reading past its inbound limit")
        var seen: [String] = []
        for _ in 0..<400 where seen.count < 300 {
            seen += application.consumeAll()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(seen == (0..<300).map { "message \($0)" })
    }

    /// Big messages are held back by bytes: with room for 4,096 messages but only 64 KiB, a flood of 16 KiB
    /// messages is handed over a few at a time, and still every one arrives once, in order.
    @Test func stopsReadingOnUnconsumedBytes() async throws {
        let application = try SlowApplication(inboundMessagesMax: 4_096, inboundBytesMax: 64 * 1_024)
        defer { application.stop() }
        let client = try await WebSocketConnection.connect(port: application.server.port, path: "/ws",
                                                           subprotocol: "bankhub.v1")
        let padding = String(repeating: "p", count: 16 * 1_024)
        for index in 0..<60 { try await client.send("\(index) \(padding)") }
        try await Task.sleep(for: .milliseconds(500))
        #expect(application.count >= 4)
        #expect(application.count <= 6, "the transport kept reading past its inbound byte limit")
        var seen: [String] = []
        for _ in 0..<400 where seen.count < 60 {
            seen += application.consumeAll()
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(seen == (0..<60).map { "\($0) \(padding)" })
    }
}
