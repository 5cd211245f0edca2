import Foundation
import Testing
import WebSocketClient
import WebSocketTransport

/// Connections the shared (reuse-port) listener accepts meet the same door as lws's own listener's: admission
/// limits at the handshake, and refusal once shutdown began.
@Suite(.serialized) struct ReusePortDoorTests {
    /// Past `connectionsPerAddressMax` an address gets 503 on a reuse-port server, as on a plain one.
    @Test func perAddressLimitRefusesOnAReusePortServer() async throws {
        let harness = try EchoHarness { $0.reusePort = true; $0.connectionsPerAddressMax = 2 }
        defer { harness.stop() }
        let port = harness.port
        func connect(from source: String) async throws -> WebSocketConnection {
            try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1",
                                                  sourceAddress: source)
        }
        let first = try await connect(from: "127.0.0.1")
        let second = try await connect(from: "127.0.0.1")
        await #expect(throws: WebSocketClientError.handshakeRejected(status: 503)) {
            _ = try await connect(from: "127.0.0.1")
        }
        let other = try await connect(from: "127.0.0.2")
        try await other.send("other address")
        #expect(try await other.receiveText() == "other address")
        #expect(harness.server.statistics.connectionLimitRefusals == 1)
        for client in [first, second, other] { client.close() }
    }

    /// Once shutdown began (a reading client got its 1001) and while a non-reading client holds the grace
    /// period open, a new connection is accepted and dropped before any HTTP, as lws's listener does.
    @Test func newConnectionsAreRefusedOnceShutdownBegan() async throws {
        let harness = try EchoHarness {
            $0.reusePort = true
            $0.shutdownGraceSeconds = 5
            $0.closeTimeoutSeconds = 5
        }
        let port = harness.port
        let stuck = try await harness.connect()
        let watching = try await harness.connect()
        _ = try await harness.connectionIDs(count: 2)
        stuck.suspendReading()
        let stopped = Thread { harness.stop() }
        stopped.start()
        #expect(try await watching.receive() == .close(code: 1001, reason: "server shutting down"))
        // Dropped at accept: no status line at all (without the refusal lws would answer 101 and only then
        // close the connection, in ESTABLISHED). Reset is the usual outcome; in a full parallel test run the
        // connect was once refused outright (the listener already gone), which also leaves no HTTP answer.
        #expect {
            _ = try RawHTTP.upgradeStatus(port: port, host: "127.0.0.1:\(port)")
        } throws: { error in
            [POSIXError(.ECONNRESET), POSIXError(.ECONNREFUSED)].contains(error as? POSIXError)
        }
        stuck.resumeReading()
        harness.server.shutdown()
    }
}
