import Testing
@testable import WebSocketTransport

/// The multi-message write of one writeable callback and the single wake-up of a burst, driven directly: what
/// `OutboundQueue.peek` offers, what `consume` leaves, and when `OutboundState` asks for `lws_cancel_service`.
struct WriteBatchTests {
    private func message(_ text: String, _ kind: MessageKind = .text) -> OutboundMessage {
        OutboundMessage(bytes: Array(text.utf8), kind: kind)
    }

    private func queue(_ texts: [String], bytesMax: Int = 1 << 20) -> OutboundQueue {
        var queue = OutboundQueue()
        for text in texts { _ = queue.enqueue(message(text), bytesMax: bytesMax, messagesMax: 1_000) }
        return queue
    }

    /// A callback takes up to `framesMax` messages, oldest first; what it wrote leaves the queue and the next
    /// callback goes on where it stopped, until the close.
    @Test func peekTakesSeveralMessagesInOrderAndConsumeResumesAfterThem() {
        var queue = queue((0..<5).map { "m\($0)" })
        _ = queue.requestClose(CloseRequest(code: 1000, reason: "done"))
        let budget = WriteBudget(framesMax: 3, bytesMax: 1_000)
        let first = queue.peek(within: budget)
        let moreAfterFirst = queue.consume(first.messages.count)
        let second = queue.peek(within: budget)
        let moreAfterSecond = queue.consume(second.messages.count)
        #expect(first == WriteBatch(messages: [message("m0"), message("m1"), message("m2")], close: nil))
        #expect(moreAfterFirst)
        #expect(second == WriteBatch(messages: [message("m3"), message("m4")],
                                     close: CloseRequest(code: 1000, reason: "done")))
        #expect(moreAfterSecond, "the close is still to be sent")
        #expect(queue.queuedMessages == 0 && queue.queuedBytes == 0)
        #expect(queue.peek(within: budget) == WriteBatch(messages: [], close: CloseRequest(code: 1000, reason: "done")))
    }

    /// No message is started once the byte budget is reached, but the first one always goes, however large.
    @Test func peekStopsAtTheByteBudgetButAlwaysTakesOneMessage() {
        let big = String(repeating: "b", count: 50)
        let queue = queue([big, "c", "d"])
        let tight = queue.peek(within: WriteBudget(framesMax: 10, bytesMax: 8))
        let roomy = queue.peek(within: WriteBudget(framesMax: 10, bytesMax: 51))
        #expect(tight.messages == [message(big)])
        #expect(roomy.messages == [message(big), message("c")], "51 bytes were taken: no third message")
        #expect(tight.close == nil)
    }

    /// Peeking changes nothing: the messages count against the queue's limits until they were written, and one
    /// that was peeked but not written (the pipe choked) is offered again first.
    @Test func unwrittenMessagesStayQueuedAndComeFirstNextTime() {
        var queue = queue(["a", "b", "c"])
        let batch = queue.peek(within: .perCallback)
        #expect(batch.messages.count == 3)
        #expect(queue.queuedBytes == 3)
        let moreRemain = queue.consume(1)
        #expect(moreRemain)
        #expect(queue.queuedBytes == 2)
        #expect(queue.peek(within: .perCallback).messages == [message("b"), message("c")])
    }

    /// A message queued while the service thread writes (between peek and consume) finds the queue busy, so it
    /// asks for no wake-up: `consume` reports it, and the service thread asks for the next callback itself.
    @Test func messageQueuedDuringTheWritesIsReportedByConsume() {
        var queue = queue(["a"])
        let batch = queue.peek(within: .perCallback)
        let late = queue.enqueue(message("late"), bytesMax: 100, messagesMax: 10)
        let moreRemain = queue.consume(batch.messages.count)
        #expect(late == .queued(wasIdle: false))
        #expect(moreRemain)
        #expect(queue.peek(within: .perCallback).messages == [message("late")])
    }

    /// An overflow while the service thread writes empties the queue for good: consuming what was written then
    /// removes nothing, and the 4008 close is next.
    @Test func overflowDuringTheWritesLeavesOnlyTheSlowConsumerClose() {
        var queue = queue(["aaaa", "bbbb"], bytesMax: 10)
        let batch = queue.peek(within: .perCallback)
        let overflow = queue.enqueue(message("cccc"), bytesMax: 10, messagesMax: 10)
        let moreRemain = queue.consume(batch.messages.count)
        #expect(overflow == .overflowed)
        #expect(moreRemain)
        let slowConsumer = CloseRequest(code: TransportCloseCode.slowConsumer, reason: "slow consumer")
        #expect(queue.peek(within: .perCallback) == WriteBatch(messages: [], close: slowConsumer))
    }

    /// The production budget: 32 messages per callback.
    @Test func productionBudgetWritesAtMost32MessagesPerCallback() {
        let queue = queue((0..<100).map { "e\($0)" })
        let batch = queue.peek(within: .perCallback)
        #expect(batch.messages.count == WriteBudget.framesPerCallbackMax)
        #expect(batch.messages.first == message("e0") && batch.messages.last == message("e31"))
    }

    /// Replies to many idle connections wake the service thread once: the first asks for `lws_cancel_service`,
    /// the others (and a close) find a wake-up on its way; once the service thread has taken the requests, the
    /// next one wakes it again.
    @Test func aBurstToManyConnectionsWakesTheServiceThreadOnce() {
        var state = OutboundState()
        for id: ConnectionID in 1...5 { state.queues[id] = OutboundQueue() }
        var wakes: [Bool] = []
        for id: ConnectionID in 1...3 {
            let outcome = state.enqueue(message("reply"), to: id, bytesMax: 100, messagesMax: 10)
            wakes.append(state.wakeNeeded(outcome.wake))
        }
        let closeNeedsService = state.requestClose(CloseRequest(code: 1000, reason: ""), for: 4)
        wakes.append(state.wakeNeeded(closeNeedsService))
        let taken = state.takeWritableRequests()
        let fresh = state.enqueue(message("first"), to: 5, bytesMax: 100, messagesMax: 10)
        let wakesAfterService = state.wakeNeeded(fresh.wake)
        #expect(wakes == [true, false, false, false])
        #expect(taken == [1, 2, 3, 4])
        #expect(wakesAfterService, "the service thread took the requests: a new one wakes it")
    }

    /// The signal on its own: one wake per burst, re-armed by the service thread.
    @Test func wakeSignalWakesOncePerServicePass() {
        var signal = WakeSignal()
        let burst = [signal.request(), signal.request(), signal.request()]
        signal.serviceTookRequests()
        let next = signal.request()
        #expect(burst == [true, false, false])
        #expect(next)
    }

    /// A batch keeps each message with its own recipients, in order, and skips messages for nobody.
    @Test func sendBatchKeepsMessagesWithTheirRecipientsInOrder() {
        var batch = SendBatch()
        batch.append(Array("one".utf8), to: [1, 2])
        batch.append(Array("nobody".utf8), to: [ConnectionID]())
        batch.append(Array("two".utf8), to: 2)
        batch.append(Array("three".utf8), to: [3, 1, 2].lazy.filter { $0 != 3 })
        var seen: [(String, [ConnectionID])] = []
        batch.forEach { bytes, recipients in seen.append((String(decoding: bytes, as: UTF8.self), Array(recipients))) }
        #expect(seen.map(\.0) == ["one", "two", "three"])
        #expect(seen.map(\.1) == [[1, 2], [2], [1, 2]])
        #expect(batch.deliveryCount == 5)
    }
}
