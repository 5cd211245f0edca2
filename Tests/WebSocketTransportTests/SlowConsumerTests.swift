import Testing
import WebSocketClient
import WebSocketTransport

/// A peer that stops reading cannot hold a connection, or the server's memory, for long: every close —
/// the 4008 of an overflow or one the application asks for — ends the TCP connection within
/// `closeTimeoutSeconds` (5 s) whatever the peer does.
@Suite(.serialized) struct SlowConsumerTests {
    /// 5 s of close timeout, plus room for a loaded CI machine.
    static let closeBound: Duration = .seconds(8)

    /// The server floods a client that stopped reading: once the socket is choked its queue stays under the
    /// byte limit, overflows, and the connection is gone within the close timeout of the overflow (the 4008
    /// close cannot be written behind what lws still holds), counted as a slow-consumer close.
    @Test func floodedNonReadingClientIsDroppedWithinTheCloseTimeout() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let bytesMax = WebSocketServerConfiguration().outboundQueueBytesMax
        let client = try await harness.connect(receiveBufferBytes: 4_096)
        let id = try await harness.soleConnectionID()
        client.suspendReading()
        #expect(try await harness.chokeSocket(of: id), "the socket never stopped taking data")
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1_024)
        var overflowAt: ContinuousClock.Instant?
        var queuedMax = 0
        for _ in 0..<1_000 where overflowAt == nil {
            if !harness.server.send(chunk, to: id) { overflowAt = .now }
            queuedMax = max(queuedMax, harness.server.queuedBytes(for: id))
        }
        let overflow = try #require(overflowAt, "the queue never overflowed")
        #expect(queuedMax <= bytesMax)
        let closed = try await harness.closedInstant(of: id, timeout: .seconds(12))
        let closedAt = try #require(closed, "the server kept the non-reading connection open")
        #expect(closedAt - overflow < Self.closeBound)
        #expect(harness.server.statistics.slowConsumerCloses == 1)
        #expect(harness.server.connectionCount == 0)
        client.resumeReading()
        #expect(try await client.drainsToItsEnd(), "the client never saw its connection end")
    }

    /// A close the application asks for, queued behind data a non-reading peer never takes, still ends the
    /// connection within the close timeout.
    @Test func requestedCloseToNonReadingPeerEndsWithinTheCloseTimeout() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect(receiveBufferBytes: 4_096)
        let id = try await harness.soleConnectionID()
        client.suspendReading()
        #expect(try await harness.chokeSocket(of: id), "the socket never stopped taking data")
        let requestedAt = ContinuousClock.now
        harness.server.close(id, code: 4000, reason: "bye")
        let closed = try await harness.closedInstant(of: id, timeout: .seconds(12))
        let closedAt = try #require(closed, "the close waited behind data the peer never reads")
        #expect(closedAt - requestedAt < Self.closeBound)
        #expect(harness.server.statistics.forcedCloses == 1)
        #expect(harness.server.statistics.slowConsumerCloses == 0)
    }
}

extension EchoHarness {
    /// Sends 64 KiB messages to a peer that does not read until the kernel's buffers are full and lws stops
    /// draining the queue (it stays the same for 300 ms), keeping the queue itself small. True once choked.
    func chokeSocket(of id: ConnectionID) async throws -> Bool {
        let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: 64 * 1_024)
        var previous = -1
        for _ in 0..<200 {
            while server.queuedBytes(for: id) < 1 << 20 {
                guard server.send(chunk, to: id) else { return false }
            }
            try await Task.sleep(for: .milliseconds(300))
            let queued = server.queuedBytes(for: id)
            if queued == previous { return true }
            previous = queued
        }
        return false
    }
}

extension WebSocketConnection {
    /// Reads until the connection ends (a close, or the socket dropped); false if it is still open after
    /// `timeout` of silence.
    func drainsToItsEnd(timeout: Duration = .seconds(5)) async throws -> Bool {
        while true {
            do {
                if case .close = try await receive(timeout: timeout) { return true }
            } catch WebSocketClientError.timedOut {
                return false
            } catch {
                return true
            }
        }
    }
}
