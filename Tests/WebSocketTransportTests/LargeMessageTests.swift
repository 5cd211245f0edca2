import Testing
import WebSocketClient
import WebSocketTransport

/// Messages larger than what lws writes at once (it keeps the rest and flushes it in pieces) still go out
/// back to back: the queue behind a partly written message keeps moving.
struct LargeMessageTests {
    /// Sixteen 64 KiB messages queued at once all reach a reading client, in order.
    @Test func queuedLargeMessagesAllArrive() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        for index in 0..<16 {
            #expect(harness.server.send(Array(String(repeating: String(index % 10), count: 64 * 1_024).utf8), to: id))
        }
        for index in 0..<16 {
            let text = try await client.receiveText(timeout: .seconds(5))
            #expect(text == String(repeating: String(index % 10), count: 64 * 1_024))
        }
    }
}
