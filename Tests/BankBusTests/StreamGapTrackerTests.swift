import BankBus
import Testing

struct StreamGapTrackerTests {
    private func envelope(_ stream: String, _ seq: UInt64) -> EventEnvelope {
        EventEnvelope(stream: stream, seq: seq, event: [])
    }

    /// Seqs in order are delivered one by one, per stream independently.
    @Test func deliversInOrderPerStream() {
        var tracker = StreamGapTracker()
        #expect(tracker.receive(envelope("a", 1)) == .deliver)
        #expect(tracker.receive(envelope("b", 1)) == .deliver)
        #expect(tracker.receive(envelope("a", 2)) == .deliver)
        #expect(tracker.lastDelivered == ["a": 2, "b": 1])
    }

    /// A seq already delivered (a redelivery after reconnect) is dropped and changes nothing.
    @Test func dropsDuplicates() {
        var tracker = StreamGapTracker()
        tracker.start(stream: "a", at: 5)
        #expect(tracker.receive(envelope("a", 5)) == .dropDuplicate)
        #expect(tracker.receive(envelope("a", 3)) == .dropDuplicate)
        #expect(tracker.lastDelivered["a"] == 5)
    }

    /// A jump reports the missing range through the new seq; after `filled` the stream continues in order.
    @Test func reportsGapAndContinuesAfterFill() {
        var tracker = StreamGapTracker()
        tracker.start(stream: "a", at: 2)
        #expect(tracker.receive(envelope("a", 6)) == .fillGap(stream: "a", from: 3, to: 6))
        #expect(tracker.lastDelivered["a"] == 2)
        tracker.filled(stream: "a", through: 6)
        #expect(tracker.receive(envelope("a", 6)) == .dropDuplicate)
        #expect(tracker.receive(envelope("a", 7)) == .deliver)
    }

    /// `filled` never moves a stream backwards (a slow database read finishing late).
    @Test func fillNeverMovesBackwards() {
        var tracker = StreamGapTracker()
        tracker.start(stream: "a", at: 10)
        tracker.filled(stream: "a", through: 4)
        #expect(tracker.lastDelivered["a"] == 10)
    }

    /// After a reconnect every known stream is to be filled after its last delivered seq.
    @Test func fillsEverythingSinceLastAfterReconnect() {
        var tracker = StreamGapTracker()
        tracker.start(stream: "b", at: 7)
        _ = tracker.receive(envelope("a", 1))
        #expect(tracker.fillAfterReconnect() == [.init(stream: "a", after: 1), .init(stream: "b", after: 7)])
    }
}
