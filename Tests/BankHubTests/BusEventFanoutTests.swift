@testable import BankHub
import BankBus
import BankStorage
import BankStore
import Foundation
import NATSTestPeer
import Synchronization
import Testing
import WebSocketTransport

/// Two hubs, each a `BusEventFanout` with its own recording sink, over one real nats-server; the gap filler
/// reads a real SQLite event table (`EventRecords` in a database made by `DatabaseWriter`).
struct BusEventFanoutTests {
    /// An event published on hub A reaches B's subscriber of that stream once and in order, and A's own
    /// subscriber once (no echo).
    @Test func publishOnOneHubReachesTheOtherHubsSubscriberOnceInOrder() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let (a, b) = try (TestHub(peer, store), TestHub(peer, store))
        try a.follow(1, "user:7")
        try b.follow(2, "user:7")
        let events = (1...3).map { event("user:7", $0) }
        try await store.append(events)
        a.fanout.publish(events)
        try await eventually { b.sink.frames(to: 2) == frames(events) }
        try a.bus.flush()
        try await Task.sleep(for: .milliseconds(300))
        #expect(b.sink.frames(to: 2) == frames(events))
        #expect(a.sink.frames(to: 1) == frames(events))
        #expect(a.fanout.statistics == .init() && b.fanout.statistics == .init())
    }

    /// The bus never hands a hub its own events back (no echo): a raw subscription on A's own connection gets
    /// nothing of what A publishes, while the same subscription on B's connection gets it.
    @Test func hubsOwnEventsDoNotComeBackOverTheBus() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let (a, b) = try (TestHub(peer, store), TestHub(peer, store))
        let (onA, onB) = try (a.bus.subscribe(BusSubjects.events(of: "user:7")),
                              b.bus.subscribe(BusSubjects.events(of: "user:7")))
        try a.bus.flush()
        try b.bus.flush()
        a.fanout.publish([event("user:7", 1)])
        try a.bus.flush()
        var fromB = onB.messages.makeAsyncIterator()
        #expect(await fromB.next()?.payload == hubsSeal.seal(BusEventCodec.envelope(event("user:7", 1)).encoded()))
        // The flush's answer follows any echo on A's link; the pause lets libnats's thread hand it over.
        try await Task.sleep(for: .milliseconds(200))
        onA.unsubscribe()
        var fromA = onA.messages.makeAsyncIterator()
        #expect(await fromA.next() == nil)
    }

    /// A hub subscribes to a stream's subject only while one of its connections follows it: B, following only
    /// `user:8`, gets nothing of `user:7`; a bus subscription ends with its stream's last follower (unsubscribe,
    /// revoke or drop).
    @Test func hubWithoutSubscriberOfAStreamReceivesNothingOfIt() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let (a, b) = try (TestHub(peer, store), TestHub(peer, store))
        try b.follow(2, "user:8")
        try b.follow(3, "user:8")
        #expect(b.fanout.busSubscriptions == ["user:8"])
        let events = [event("user:7", 1), event("user:8", 1), event("user:7", 2)]
        try await store.append(events)
        a.fanout.publish(events)
        try await eventually { b.sink.frames(to: 2) == frames([events[1]]) }
        try a.bus.flush()
        try await Task.sleep(for: .milliseconds(300))
        #expect(b.sink.all.map(\.text).allSatisfy { !$0.contains("user:7") })
        try b.follow(4, "user:9")
        b.fanout.unsubscribe(2, stream: "user:8")
        #expect(b.fanout.busSubscriptions == ["user:8", "user:9"])
        #expect(b.fanout.revoke(3, where: { $0.hasPrefix("user:") }) == ["user:8"])
        #expect(b.fanout.busSubscriptions == ["user:9"])
        b.fanout.drop(4)
        #expect(b.fanout.busSubscriptions.isEmpty)
    }

    /// nats-server is down while A commits and publishes events 4...10 (A's pending buffer is too small to hold
    /// them, so nearly all never travel): once the server is back, B's subscriber gets 4...10 from the store, with
    /// no gap and no duplicate.
    @Test func eventsPublishedDuringAnOutageAreFilledFromTheStoreAfterReconnect() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let (a, b) = try (TestHub(peer, store, pendingBytesMax: 1), TestHub(peer, store))
        try a.follow(1, "user:7")
        try b.follow(2, "user:7")
        let before = (1...3).map { event("user:7", $0) }
        try await store.append(before)
        a.fanout.publish(before)
        try await eventually { b.sink.frames(to: 2) == frames(before) }
        peer.stop()
        try await Task.sleep(for: .milliseconds(500))
        let during = (4...10).map { event("user:7", $0) }
        try await store.append(during)
        a.fanout.publish(during)
        // libnats takes the first publish into its empty reconnect buffer; the rest can only come from the store.
        #expect(a.fanout.statistics.publishFailures >= during.count - 1)
        try await peer.start()
        try await eventually(within: .seconds(15)) { b.sink.frames(to: 2) == frames(before + during) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(b.sink.frames(to: 2) == frames(before + during))
        #expect(a.sink.frames(to: 1) == frames(before + during))
    }

    /// A message whose seq skips ahead (1...4 were stored but never sent on the bus) is delivered only after the
    /// missing events, read from the store, in seq order.
    @Test func messageArrivingWithAGapIsDeliveredAfterTheGapIsFilledFromTheStore() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let b = try TestHub(peer, store)
        try b.follow(2, "user:7")
        let events = (1...5).map { event("user:7", $0) }
        try await store.append(events)
        var configuration = NATSConfiguration(urls: [peer.url])
        configuration.noEcho = true
        let sender = try NATSConnection(configuration)
        defer { sender.close() }
        try sender.publish(BusSubjects.events(of: "user:7"), hubsSeal.seal(BusEventCodec.envelope(events[4]).encoded()))
        try sender.flush()
        try await eventually { b.sink.frames(to: 2) == frames(events) }
        #expect(b.sink.all.count == events.count)
    }

    /// Someone who can publish on the bus but lacks the hubs' key (a leaked broker credential) sends a
    /// well-formed envelope with a made-up balance, sealed under another key, then the same unsealed: the
    /// subscriber never sees the made-up event, and each message makes B read the stream from the store, which
    /// delivers the real events committed meanwhile.
    @Test func messagesWithoutTheHubsSealAreNotDeliveredAndTheStreamIsReadFromTheStore() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let b = try TestHub(peer, store)
        try b.follow(2, "user:7")
        var configuration = NATSConfiguration(urls: [peer.url])
        configuration.noEcho = true
        let intruder = try NATSConnection(configuration)
        defer { intruder.close() }
        let real = [event("user:7", 1), event("user:7", 2)]
        try await store.append(real)
        let forged = StoredEvent(stream: "user:7", seq: 1, kind: "balance",
                                 data: #"{"account":"7","balance":"1000000.00"}"#, at: 1_733_390_000)
        let otherKey = BusEventSeal(key: Array(repeating: 0x5A, count: BusEventSeal.keyBytesMin))
        try intruder.publish(BusSubjects.events(of: "user:7"), otherKey.seal(BusEventCodec.envelope(forged).encoded()))
        try intruder.publish(BusSubjects.events(of: "user:7"), BusEventCodec.envelope(forged).encoded())
        try intruder.flush()
        try await eventually { b.fanout.statistics.unsealedMessages == 2 }
        #expect(b.sink.frames(to: 2) == frames(real))
        #expect(b.sink.all.allSatisfy { !$0.text.contains("1000000.00") })
    }

    /// A subscriber that resumes with `since` during live traffic from another hub sees every seq after it once.
    @Test func subscriberResumingWhileAnotherHubPublishesSeesEachSeqOnce() async throws {
        let (peer, store) = try await (NATSPeer.start(), EventStore())
        let (a, b) = try (TestHub(peer, store), TestHub(peer, store))
        let first = (1...4).map { event("user:9", $0) }
        try await store.append(first)
        b.fanout.beginCatchUp(5, stream: "user:9", format: .frame)
        try b.bus.flush()
        let next = (5...8).map { event("user:9", $0) }
        try await store.append(next)
        a.fanout.publish(next)
        try a.bus.flush()
        // The catch-up read happened before 5...8 were committed (the bus delivers them meanwhile).
        _ = b.fanout.finishCatchUp(5, stream: "user:9", replay: Array(first[2...]), lastDelivered: 2, announce: {})
        try await eventually { b.sink.frames(to: 5) == frames(Array((first + next)[2...])) }
    }

    // MARK: - Peers

    /// The key every test hub shares (a deployment's comes from its configuration).
    static let hubsKey = Array((0..<UInt8(BusEventSeal.keyBytesMin)).map { $0 &* 7 &+ 1 })
    let hubsSeal = BusEventSeal(key: BusEventFanoutTests.hubsKey)

    /// One hub: its own bus connection (no echo), local fan-out and recording sink.
    struct TestHub {
        let bus: NATSConnection
        let sink = FrameRecorder()
        let fanout: BusEventFanout

        init(_ peer: NATSPeer, _ store: EventStore, pendingBytesMax: Int? = nil) throws {
            var configuration = NATSConfiguration(urls: [peer.url])
            configuration.noEcho = true
            configuration.reconnectWaitMilliseconds = 100
            if let pendingBytesMax { configuration.pendingBytesMax = pendingBytesMax }
            bus = try NATSConnection(configuration)
            fanout = BusEventFanout(local: LocalEventFanout(sink: sink), bus: bus, key: BusEventFanoutTests.hubsKey,
                                    filler: store.filler)
        }

        /// Subscribes `connection` live from the stream's current head, and waits until the server knows it.
        func follow(_ connection: ConnectionID, _ stream: String) throws {
            fanout.beginCatchUp(connection, stream: stream, format: .frame)
            _ = fanout.finishCatchUp(connection, stream: stream, replay: [], lastDelivered: 0, announce: {})
            try bus.flush()
        }
    }

    /// The event table the hubs share, in a real SQLite file.
    final class EventStore: Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bus-\(UUID()).sqlite").path
        let writer: DatabaseWriter

        init() throws { writer = try DatabaseWriter(path: path) }

        deinit { writer.close() }

        func append(_ events: [StoredEvent]) async throws {
            try await writer.write { db in try events.forEach { try EventRecords.append(db, $0) } }
        }

        var filler: EventGapFiller {
            { [path] stream, from, to in
                let db = try SQLiteConnection(path: path, mode: .readOnly)
                return try EventRecords.events(db, stream: stream, after: from - 1, limit: Int(to - from + 1))
            }
        }
    }

    /// Records every frame handed over, with its recipient.
    final class FrameRecorder: FrameSink {
        struct Received: Equatable {
            let connection: ConnectionID
            let text: String
        }

        private let received = Mutex<[Received]>([])

        var all: [Received] { received.withLock { $0 } }

        func frames(to connection: ConnectionID) -> [String] {
            all.filter { $0.connection == connection }.map(\.text)
        }

        func send(_ bytes: [UInt8], to connection: ConnectionID) -> Bool {
            send(bytes, to: [connection])
            return true
        }

        func send(_ bytes: [UInt8], to connections: [ConnectionID]) {
            let text = String(decoding: bytes, as: UTF8.self)
            received.withLock { $0 += connections.map { Received(connection: $0, text: text) } }
        }

        func close(_ connection: ConnectionID, code: UInt16, reason: String) {}
    }
}

private func event(_ stream: String, _ seq: Int64) -> StoredEvent {
    StoredEvent(stream: stream, seq: seq, kind: "notice", data: #"{"n":\#(seq)}"#, at: 1_700_000_000 + seq)
}

private func frames(_ events: [StoredEvent]) -> [String] {
    events.map { String(decoding: EventFrame.encode($0), as: UTF8.self) }
}

/// Polls `condition` until it holds; fails the test if it does not within `within`.
private func eventually(within: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + within
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(within)")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
