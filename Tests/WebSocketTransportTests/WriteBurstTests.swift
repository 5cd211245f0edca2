import Testing
import WebSocketClient
import WebSocketTransport

/// The push path at the socket: messages queued together leave several per writeable callback, in order, and a
/// batch of sends for several connections wakes the service thread once.
@Suite(.serialized) struct WriteBurstTests {
    /// 200 messages queued at once reach a reading client complete and in order, and the service thread wrote
    /// several of them per writeable callback (never more than its budget of 32) instead of one per callback.
    @Test func queuedBurstIsWrittenSeveralFramesPerCallback() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        let texts = (0..<200).map { "event \($0)" }
        var batch = SendBatch()
        for text in texts { batch.append(Array(text.utf8), to: id) }
        harness.server.send(batch)
        var received: [String] = []
        for _ in texts { received.append(try await client.receiveText() ?? "<not text>") }
        let statistics = harness.server.statistics
        #expect(received == texts)
        #expect(statistics.framesWritten == 200)
        #expect(statistics.framesWrittenPerCallbackMax > 1, "one message per writeable callback")
        #expect(statistics.framesWrittenPerCallbackMax <= 32)
        #expect(statistics.writeCallbacks < 200)
    }

    /// A batch for two connections delivers each one's messages (its own and the shared ones) in the order they
    /// were appended, and wakes the service thread at most once for all of them.
    @Test func batchForSeveralConnectionsKeepsEachOnesOrderAndWakesOnce() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let first = try await harness.connect()
        let second = try await harness.connect()
        let ids = try await harness.connectionIDs(count: 2)
        var batch = SendBatch()
        var expected: [[String]] = [[], []]
        for round in 0..<20 {
            batch.append(Array("a\(round)".utf8), to: ids[0])
            batch.append(Array("b\(round)".utf8), to: ids[1])
            batch.append(Array("both\(round)".utf8), to: ids)
            expected[0] += ["a\(round)", "both\(round)"]
            expected[1] += ["b\(round)", "both\(round)"]
        }
        let wakesBefore = harness.server.statistics.serviceWakes
        harness.server.send(batch)
        var received: [[String]] = [[], []]
        for _ in 0..<40 {
            received[0].append(try await first.receiveText() ?? "<not text>")
            received[1].append(try await second.receiveText() ?? "<not text>")
        }
        #expect(received == expected)
        #expect(harness.server.statistics.serviceWakes - wakesBefore <= 1)
    }

    /// A close asked for right behind a burst goes out after the last message of the burst.
    @Test func closeAfterBurstFollowsTheLastMessage() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        var batch = SendBatch()
        for index in 0..<50 { batch.append(Array("m\(index)".utf8), to: id) }
        harness.server.send(batch)
        harness.server.close(id, code: 4000, reason: "done")
        var received: [WebSocketMessage] = []
        for _ in 0..<51 { received.append(try await client.receive()) }
        #expect(received == (0..<50).map { .text("m\($0)") } + [.close(code: 4000, reason: "done")])
    }

    /// Events sent one by one to an idle connection leave on the wake-up that announced them: written by the woken
    /// service thread at once, not after a further trip through lws for a writeable callback.
    @Test func messageToIdleConnectionIsWrittenOnTheWakeUp() async throws {
        let harness = try EchoHarness(echo: false)
        defer { harness.stop() }
        let client = try await harness.connect()
        let id = try await harness.soleConnectionID()
        let statistics = harness.server.statistics
        let (callbacksBefore, onWakeBefore) = (statistics.writeCallbacks, statistics.writesOnWake)
        for index in 0..<20 {
            var batch = SendBatch()
            batch.append(Array("event \(index)".utf8), to: id)
            harness.server.send(batch)
            #expect(try await client.receiveText() == "event \(index)")
            // Idle again before the next: the service thread has taken this one off the queue (else the next
            // could be queued behind it and go with a writeable callback, as a burst should).
            while harness.server.queuedBytes(for: id) > 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(statistics.writeCallbacks - callbacksBefore == 20)
        #expect(statistics.writesOnWake - onWakeBefore == 20, "events waited for a writeable callback")
    }
}
