import Testing
import WebSocketClient
import WebSocketTransport

/// Ping/pong keep-alive: the server pings quiet connections and hangs up on those that stop answering.
@Suite(.serialized) struct KeepAliveTests {
    /// A client that answers pings stays connected through several idle periods.
    @Test func keepsAQuietButLiveConnection() async throws {
        let harness = try EchoHarness { $0.pingIntervalSeconds = 1; $0.idleTimeoutSeconds = 3 }
        defer { harness.stop() }
        let client = try await harness.connect()
        try await Task.sleep(for: .seconds(5))
        try await client.send("still here")
        #expect(try await client.receive() == .text("still here"))
    }

    /// A client that stops reading (so never answers a ping) is dropped after the idle timeout.
    @Test func dropsAConnectionThatStopsAnswering() async throws {
        let harness = try EchoHarness { $0.pingIntervalSeconds = 1; $0.idleTimeoutSeconds = 2 }
        defer { harness.stop() }
        let client = try await harness.connect()
        client.suspendReading()
        try await Task.sleep(for: .seconds(5))
        client.resumeReading()
        let last = try await client.receive(timeout: .seconds(5))
        guard case .close = last else {
            Issue.record("expected the connection to be closed, got \(last)")
            return
        }
        #expect(harness.server.connectionCount == 0)
    }
}
