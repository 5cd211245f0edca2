@testable import BankHub
import BankStorage
import BankStore
import Synchronization
import Testing
import WebSocketTransport

/// The fan-out hands the transport one batch per publish and per catch-up (one lock and one wake-up there),
/// with each event encoded once per format and every subscriber's events in seq order.
struct FanoutBatchTests {
    /// A sink that records what it was handed, in order, as one line per call.
    final class RecordingSink: FrameSink {
        enum Call: Equatable {
            case single(String, ConnectionID)
            case many(String, [ConnectionID])
            case batch([Delivery])
            case close(ConnectionID, UInt16)
        }

        struct Delivery: Equatable {
            let text: String
            let recipients: [ConnectionID]
        }

        private let recorded = Mutex<[Call]>([])

        var calls: [Call] { recorded.withLock { $0 } }

        func reset() { recorded.withLock { $0 = [] } }

        func send(_ bytes: [UInt8], to connection: ConnectionID) -> Bool {
            recorded.withLock { $0.append(.single(String(decoding: bytes, as: UTF8.self), connection)) }
            return true
        }

        func send(_ bytes: [UInt8], to connections: [ConnectionID]) {
            recorded.withLock { $0.append(.many(String(decoding: bytes, as: UTF8.self), connections)) }
        }

        func send(_ batch: SendBatch) {
            var deliveries: [Delivery] = []
            batch.forEach { bytes, recipients in
                deliveries.append(Delivery(text: String(decoding: bytes, as: UTF8.self), recipients: Array(recipients)))
            }
            recorded.withLock { $0.append(.batch(deliveries)) }
        }

        func close(_ connection: ConnectionID, code: UInt16, reason: String) {
            recorded.withLock { $0.append(.close(connection, code)) }
        }
    }

    private func event(_ stream: String, _ seq: Int64) -> StoredEvent {
        StoredEvent(stream: stream, seq: seq, kind: "balance", data: #"{"seq":\#(seq)}"#, at: 0)
    }

    private func frame(_ event: StoredEvent) -> String { String(decoding: EventFrame.encode(event), as: UTF8.self) }
    private func record(_ event: StoredEvent) -> String {
        String(decoding: ServerSentEvent.encode(event), as: UTF8.self)
    }

    /// Subscribes `connection` live to `stream` (an empty catch-up).
    private func subscribe(_ fanout: LocalEventFanout, _ connection: ConnectionID, to stream: String,
                           format: EventFormat = .frame) {
        fanout.beginCatchUp(connection, stream: stream, format: format)
        _ = fanout.finishCatchUp(connection, stream: stream, replay: [], lastDelivered: 0, announce: {})
    }

    /// Three events on two streams for a WebSocket subscriber, an event-stream subscriber and a third
    /// connection: one batch, each event encoded once per format its subscribers use, in seq order.
    @Test func publishHandsOneBatchWithEachEventEncodedOncePerFormat() {
        let sink = RecordingSink()
        let fanout = LocalEventFanout(sink: sink)
        subscribe(fanout, 1, to: "account:7")
        subscribe(fanout, 2, to: "account:7", format: .serverSent)
        subscribe(fanout, 3, to: "account:8")
        sink.reset()
        let events = [event("account:7", 1), event("account:8", 1), event("account:7", 2)]
        fanout.publish(events)
        #expect(sink.calls == [.batch([
            .init(text: frame(events[0]), recipients: [1]),
            .init(text: record(events[0]), recipients: [2]),
            .init(text: frame(events[1]), recipients: [3]),
            .init(text: frame(events[2]), recipients: [1]),
            .init(text: record(events[2]), recipients: [2]),
        ])])
    }

    /// Many WebSocket subscribers of one stream share one encoded frame per event, all in the one batch.
    @Test func publishSharesOneFramePerEventAmongSubscribers() {
        let sink = RecordingSink()
        let fanout = LocalEventFanout(sink: sink)
        for connection: ConnectionID in 1...50 { subscribe(fanout, connection, to: "account:9") }
        sink.reset()
        let events = (1...10).map { event("account:9", $0) }
        fanout.publish(events)
        guard case .batch(let deliveries)? = sink.calls.first, sink.calls.count == 1 else {
            Issue.record("expected one batch, got \(sink.calls)")
            return
        }
        #expect(deliveries.map(\.text) == events.map(frame))
        #expect(deliveries.allSatisfy { Set($0.recipients) == Set(1...50) })
    }

    /// A catch-up sends the subscribe reply first, then the replay and the events held meanwhile as one batch,
    /// each once and in seq order.
    @Test func catchUpSendsReplayAndHeldEventsAsOneBatchAfterTheReply() {
        let sink = RecordingSink()
        let fanout = LocalEventFanout(sink: sink)
        fanout.beginCatchUp(4, stream: "account:5", format: .frame)
        fanout.publish([event("account:5", 3), event("account:5", 4)])
        let replay = [event("account:5", 2), event("account:5", 3)]
        let finished = fanout.finishCatchUp(4, stream: "account:5", replay: replay, lastDelivered: 1) {
            _ = sink.send(Array("reply".utf8), to: 4)
        }
        #expect(finished)
        #expect(sink.calls == [.single("reply", 4), .batch([
            .init(text: frame(event("account:5", 2)), recipients: [4]),
            .init(text: frame(event("account:5", 3)), recipients: [4]),
            .init(text: frame(event("account:5", 4)), recipients: [4]),
        ])])
    }
}
