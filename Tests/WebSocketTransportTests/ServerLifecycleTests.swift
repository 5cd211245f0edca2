import Foundation
import Synchronization
import Testing
import WebSocketClient
import WebSocketTransport

struct ServerLifecycleTests {
    /// A server-initiated close reaches the client after every message queued before it.
    @Test func serverCloseDeliversQueuedMessagesFirst() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        for index in 0..<3 { #expect(harness.server.send(Array("m\(index)".utf8), to: id)) }
        harness.server.close(id, code: 4000, reason: "bye")
        #expect(try await client.receiveText() == "m0")
        #expect(try await client.receiveText() == "m1")
        #expect(try await client.receiveText() == "m2")
        #expect(try await client.receive() == .close(code: 4000, reason: "bye"))
        #expect(try await client.receive() == .close(code: 4000, reason: "bye"))
    }

    /// A client that stops reading while the server floods it is cut off with 4008 "slow consumer".
    @Test func floodedNonReadingClientIsClosedAsSlowConsumer() async throws {
        let harness = try EchoHarness(echo: false) {
            $0.outboundQueueBytesMax = 64 * 1024
            $0.outboundQueueMessagesMax = 64
        }
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        client.suspendReading()
        let message = [UInt8](repeating: UInt8(ascii: "x"), count: 1_024)
        var refused = false
        for _ in 0..<200_000 where !refused {
            refused = !harness.server.send(message, to: id)
            if !refused { await Task.yield() }
        }
        #expect(refused)
        client.resumeReading()
        var last: WebSocketMessage = .text("")
        for _ in 0..<200_000 {
            last = try await client.receive()
            if case .close = last { break }
        }
        #expect(last == .close(code: 4008, reason: "slow consumer"))
    }

    /// shutdown() closes every client with 1001 and leaves no connection behind.
    @Test func shutdownClosesClientsWithGoingAway() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        var clients: [WebSocketConnection] = []
        for _ in 0..<3 { clients.append(try await harness.connect()) }
        try await clients[0].send("before shutdown")
        #expect(try await clients[0].receiveText() == "before shutdown")
        harness.server.shutdown()
        for client in clients {
            #expect(try await client.receive() == .close(code: 1001, reason: "server shutting down"))
        }
        #expect(harness.server.connectionCount == 0)
        harness.server.shutdown()
    }

    /// The service thread carries its name for the OS, so `top -H`, perf and the bench's per-thread fields show
    /// which thread is the transport (it would otherwise carry its creator's, a dispatch worker's).
    @Test func serviceThreadIsNamedForTheOS() throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(names.contains("bankhub-lws"))
    }

    /// Starting a second server on a port already in use throws addressInUse.
    @Test func startOnBusyPortThrowsAddressInUse() throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        var configuration = WebSocketServerConfiguration()
        configuration.port = harness.port
        let second = WebSocketServer(configuration: configuration, health: { [] })
        #expect { try second.start() } throws: { error in
            (error as? WebSocketServerError)?.code == .addressInUse
        }
    }

    /// The poll loop serves the same echo as libev (it is the fallback when the plugin is missing).
    @Test func pollEventLoopEchoes() async throws {
        let harness = try EchoHarness { $0.eventLoop = .poll }
        defer { harness.stop() }
        let client = try await harness.connect()
        try await client.send("over poll")
        #expect(try await client.receiveText() == "over poll")
        client.close()
        #expect(try await client.receive() == .close(code: 1000, reason: ""))
    }

    /// On the poll loop, shutdown ends once the last connection is gone even when its close arrives after
    /// shutdown began (the pass that saw it was the timer's, and poll then slept up to 30 s): within the grace.
    @Test func pollLoopShutdownEndsWhenTheLastCloseArrivesLate() async throws {
        let harness = try EchoHarness { $0.eventLoop = .poll; $0.shutdownGraceSeconds = 10 }
        let client = try await harness.connect()
        _ = try await harness.soleConnectionID()
        client.suspendReading()
        let started = ContinuousClock.now
        let finished = Mutex<ContinuousClock.Instant?>(nil)
        Thread {
            harness.stop()
            finished.withLock { $0 = .now }
        }.start()
        try await Task.sleep(for: .milliseconds(300))
        client.resumeReading()
        #expect(try await client.receive() == .close(code: 1001, reason: "server shutting down"))
        for _ in 0..<2_000 where finished.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        let took = try #require(finished.withLock { $0 }) - started
        #expect(took < .seconds(10), "shutdown took \(took), past shutdownGraceSeconds")
    }
}
