import Testing
@testable import WebSocketTransport

/// The per-connection memory bounds, driven directly: the outbound queue and the inbound backlog.
struct QueueAndBacklogTests {
    private func message(_ count: Int, _ kind: MessageKind = .text) -> OutboundMessage {
        OutboundMessage(bytes: [UInt8](repeating: 0x61, count: count), kind: kind)
    }

    /// Messages come out in order with their kind; the close asked for goes after them.
    @Test func outboundQueueWritesInOrderThenCloses() {
        var queue = OutboundQueue()
        let first = queue.enqueue(message(3), bytesMax: 100, messagesMax: 10)
        let second = queue.enqueue(message(2, .binary), bytesMax: 100, messagesMax: 10)
        let closeWasIdle = queue.requestClose(CloseRequest(code: 1000, reason: ""))
        let steps = [queue.nextStep(), queue.nextStep(), queue.nextStep()]
        #expect(first == .queued(wasIdle: true))
        #expect(second == .queued(wasIdle: false))
        #expect(!closeWasIdle)
        #expect(steps == [.write(message(3), moreRemain: true), .write(message(2, .binary), moreRemain: true),
                          .close(CloseRequest(code: 1000, reason: ""))])
    }

    /// A message that would pass the byte limit empties the queue and puts a 4008 close in its place; later
    /// messages are refused, so queued bytes never exceed the limit.
    @Test func outboundQueueOverflowDropsEverythingForA4008Close() {
        var queue = OutboundQueue()
        for _ in 0..<3 { _ = queue.enqueue(message(30), bytesMax: 100, messagesMax: 10) }
        #expect(queue.queuedBytes == 90)
        let overflow = queue.enqueue(message(30), bytesMax: 100, messagesMax: 10)
        #expect(overflow == .overflowed)
        #expect(queue.queuedBytes == 0)
        let after = queue.enqueue(message(1), bytesMax: 100, messagesMax: 10)
        let step = queue.nextStep()
        #expect(after == .closing)
        #expect(step == .close(CloseRequest(code: 4008, reason: "slow consumer")))
    }

    /// An overflow and an application close both reach the service thread as close requests (their deadline
    /// starts there), each once.
    @Test func outboundStateReportsEveryNewCloseOnce() {
        var state = OutboundState()
        state.queues[1] = OutboundQueue()
        state.queues[2] = OutboundQueue()
        let queued = state.enqueue(message(8), to: 1, bytesMax: 10, messagesMax: 10)
        let overflowed = state.enqueue(message(8), to: 1, bytesMax: 10, messagesMax: 10)
        let closed = state.requestClose(CloseRequest(code: 4000, reason: "bye"), for: 2)
        let closedAgain = state.requestClose(CloseRequest(code: 4001, reason: "again"), for: 2)
        let requests = state.takeCloseRequests()
        let none = state.takeCloseRequests()
        #expect(queued == .init(accepted: true, wake: true))
        #expect(overflowed == .init(accepted: false, wake: true, overflowed: true))
        #expect(closed && !closedAgain)
        #expect(requests == [1, 2])
        #expect(none.isEmpty)
    }

    /// Reading pauses when unconsumed bytes reach the byte cap even far below the message cap, and resumes only
    /// once both are back to half.
    @Test func inboundBacklogPausesOnBytesAndResumesAtHalf() {
        let backlog = InboundBacklog(messagesMax: 4_096, bytesMax: 1_000)
        #expect(!backlog.received(1, byteCount: 400))
        #expect(!backlog.received(1, byteCount: 400))
        #expect(backlog.received(1, byteCount: 400), "1,200 unconsumed bytes must pause reading")
        #expect(!backlog.received(1, byteCount: 10), "already paused")
        #expect(backlog.pendingBytes(1) == 1_210)
        #expect(!backlog.consumed(1), "810 bytes left: above half")
        #expect(backlog.consumed(1), "410 bytes left: resume")
        #expect(backlog.takeResumes() == [1])
        #expect(backlog.pending(1) == 2)
    }

    /// The message cap still applies to small messages.
    @Test func inboundBacklogStillPausesOnMessageCount() {
        let backlog = InboundBacklog(messagesMax: 4, bytesMax: 1 << 20)
        for _ in 0..<3 { #expect(!backlog.received(9, byteCount: 1)) }
        #expect(backlog.received(9, byteCount: 1))
        #expect(!backlog.consumed(9))
        #expect(backlog.consumed(9))
    }
}
