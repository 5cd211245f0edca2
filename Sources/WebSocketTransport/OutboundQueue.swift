/// A close the service thread must perform once the queue ahead of it is written.
struct CloseRequest: Sendable, Equatable {
    let code: UInt16
    let reason: String
}

/// One queued outbound message. Fan-out shares `bytes` between every recipient's queue.
struct OutboundMessage: Sendable, Equatable {
    let bytes: [UInt8]
    let kind: MessageKind
}

/// What the service thread should do on the next writeable callback of one connection.
enum WriteStep: Sendable, Equatable {
    /// Write this message; `moreRemain` says whether to ask for another writeable callback.
    case write(OutboundMessage, moreRemain: Bool)
    /// Send the close frame and hang up.
    case close(CloseRequest)
    /// Nothing queued.
    case idle
}

/// One connection's outbound messages. Touched only under ``OutboundState``'s mutex.
struct OutboundQueue: Sendable {
    private var messages: [OutboundMessage] = []
    private var head = 0
    private(set) var queuedBytes = 0
    private(set) var closeRequest: CloseRequest?

    var queuedMessages: Int { messages.count - head }
    var hasWork: Bool { queuedMessages > 0 || closeRequest != nil }

    enum EnqueueResult: Equatable {
        /// Queued; `wasIdle` means the service thread must be told (queue went empty -> non-empty).
        case queued(wasIdle: Bool)
        /// The queue is closing; the message was dropped.
        case closing
        /// A limit was hit: the queue was emptied and a 4008 close takes its place.
        case overflowed
    }

    /// Appends a message unless the connection is closing or a limit would be exceeded.
    mutating func enqueue(_ message: OutboundMessage, bytesMax: Int, messagesMax: Int) -> EnqueueResult {
        guard closeRequest == nil else { return .closing }
        let wasIdle = !hasWork
        if queuedBytes + message.bytes.count > bytesMax || queuedMessages + 1 > messagesMax {
            // The peer cannot keep up: what it has not received yet is not worth sending.
            messages = []
            head = 0
            queuedBytes = 0
            closeRequest = CloseRequest(code: TransportCloseCode.slowConsumer, reason: "slow consumer")
            return .overflowed
        }
        messages.append(message)
        queuedBytes += message.bytes.count
        assert(queuedBytes <= bytesMax && queuedMessages <= messagesMax)
        return .queued(wasIdle: wasIdle)
    }

    /// Requests a close after what is already queued; returns true if the queue was idle before.
    mutating func requestClose(_ request: CloseRequest) -> Bool {
        guard closeRequest == nil else { return false }
        let wasIdle = !hasWork
        closeRequest = request
        return wasIdle
    }

    /// Takes the next thing to do: queued messages first, then the close (one per callback: HTTP streams).
    mutating func nextStep() -> WriteStep {
        if head < messages.count {
            let message = removeHead()
            compactIfWorthIt()
            return .write(message, moreRemain: hasWork)
        }
        if let closeRequest { return .close(closeRequest) }
        return .idle
    }

    /// What one WebSocket writeable callback may write, oldest first: at most `budget.framesMax` messages, and no
    /// message once `budget.bytesMax` bytes are taken (the first is always taken). The close comes along when
    /// nothing else is queued behind these. Nothing is removed: ``consume(_:)`` does that after the writes.
    func peek(within budget: WriteBudget) -> WriteBatch {
        var batch = WriteBatch()
        var bytes = 0
        var index = head
        while index < messages.count && batch.messages.count < budget.framesMax && bytes < budget.bytesMax {
            batch.messages.append(messages[index])
            bytes += messages[index].bytes.count
            index += 1
        }
        if index == messages.count { batch.close = closeRequest }
        assert(batch.messages.count <= budget.framesMax)
        return batch
    }

    /// Removes the `count` oldest messages, which the service thread has written since its `peek`; returns
    /// whether anything (a message or the close) is still queued.
    ///
    /// Only the service thread removes messages, so those it peeked are still the oldest ones — unless an overflow
    /// emptied the queue meanwhile, and then it stays empty (nothing is queued behind a close).
    mutating func consume(_ count: Int) -> Bool {
        precondition(count >= 0, "negative count")
        let removable = min(count, queuedMessages)
        precondition(removable == count || (queuedMessages == 0 && closeRequest != nil),
                     "consumed messages that were never queued")
        for _ in 0..<removable { _ = removeHead() }
        compactIfWorthIt()
        return hasWork
    }

    private mutating func removeHead() -> OutboundMessage {
        let message = messages[head]
        messages[head] = OutboundMessage(bytes: [], kind: .text)
        head += 1
        queuedBytes -= message.bytes.count
        assert(queuedBytes >= 0)
        return message
    }

    /// Drops consumed slots once they outnumber the live ones, so memory stays bounded.
    private mutating func compactIfWorthIt() {
        if head == messages.count {
            messages.removeAll(keepingCapacity: messages.count <= 64)
            head = 0
        } else if head >= 64 && head * 2 >= messages.count {
            messages.removeFirst(head)
            head = 0
        }
    }
}
