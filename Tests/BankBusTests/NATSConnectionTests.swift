import BankBus
import NATSTestPeer
import Testing

/// Two connections to one real nats-server stand for two hubs.
struct NATSConnectionTests {
    /// A message published by one hub arrives at another hub's subscription, bytes intact.
    @Test func publishReachesOtherConnection() async throws {
        let peer = try await NATSPeer.start()
        let (sender, receiver) = try (NATSConnection(.init(urls: [peer.url])), NATSConnection(.init(urls: [peer.url])))
        defer { sender.close(); receiver.close() }
        let subscription = try receiver.subscribe("events.>")
        try receiver.flush()
        let payload = EventEnvelope(stream: "account.A", seq: 1, event: Array(#"{"amount":100}"#.utf8)).encoded()
        try sender.publish("events.account.A", payload)
        try sender.flush()
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.account.A", payload: payload))
    }

    /// nats-server down ~2 s and back on the same port: both sides report disconnected then reconnected by
    /// themselves, and a publish made after the reconnect arrives.
    @Test func bothReconnectAfterServerRestart() async throws {
        let peer = try await NATSPeer.start()
        let sender = try NATSConnection(.init(urls: [peer.url]))
        let receiver = try NATSConnection(.init(urls: [peer.url]))
        defer { sender.close(); receiver.close() }
        let subscription = try receiver.subscribe("events.>")
        try receiver.flush()
        peer.stop()
        try await Task.sleep(for: .seconds(2))
        try await peer.start()
        for connection in [sender, receiver] {
            let seen = try await firstEvents(connection, count: 2, within: .seconds(10))
            #expect(seen == [.disconnected, .reconnected])
        }
        try sender.publish("events.after", Array("back".utf8))
        try sender.flush()
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.after", payload: Array("back".utf8)))
    }

    /// While disconnected, publishes queue up to `pendingBytesMax`; the one past it fails with `.pendingBufferFull`.
    @Test func publishPastPendingLimitFailsWhileDisconnected() async throws {
        let peer = try await NATSPeer.start()
        var configuration = NATSConfiguration(urls: [peer.url])
        configuration.pendingBytesMax = 64 * 1024
        let connection = try NATSConnection(configuration)
        defer { connection.close() }
        peer.stop()
        #expect(try await firstEvents(connection, count: 1, within: .seconds(5)) == [.disconnected])
        let chunk = [UInt8](repeating: 1, count: 1_024)
        var accepted = 0
        var failure: BusError?
        while failure == nil && accepted < 1_000 {
            do throws(BusError) { try connection.publish("events.x", chunk); accepted += 1 } catch { failure = error }
        }
        #expect(failure?.code == .pendingBufferFull)
        #expect(accepted >= 1 && accepted < 64)
    }

    /// A connection closed by `close()` refuses publishes with `.closed` and ends its events with `.closed`.
    @Test func closedConnectionRefusesPublish() async throws {
        let peer = try await NATSPeer.start()
        let connection = try NATSConnection(.init(urls: [peer.url]))
        connection.close()
        #expect { try connection.publish("x", [1]) } throws: { ($0 as? BusError)?.code == .closed }
        var seen: [BusEvent] = []
        for await event in connection.events { seen.append(event) }
        #expect(seen.last == .closed)
    }

    /// The first `count` events, or fewer if `within` passes.
    private func firstEvents(_ connection: NATSConnection, count: Int, within: Duration) async throws -> [BusEvent] {
        try await withThrowingTaskGroup(of: [BusEvent]?.self) { group in
            group.addTask {
                var seen: [BusEvent] = []
                for await event in connection.events where event != .connected {
                    seen.append(event)
                    if seen.count == count { break }
                }
                return seen
            }
            group.addTask { try await Task.sleep(for: within); return nil }
            let first = try await group.next()!
            group.cancelAll()
            return first ?? []
        }
    }
}
