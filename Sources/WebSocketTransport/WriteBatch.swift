/// How much one writeable callback writes to one connection before the service thread serves the others.
///
/// Checked at construction: a budget lets at least one frame through, so every callback makes progress.
struct WriteBudget: Sendable, Equatable {
    /// Frames written to one connection in one writeable callback, at most.
    static let framesPerCallbackMax = 32
    /// Once one callback has written this many payload bytes to a connection, it starts no further frame (the
    /// first frame always goes, whatever its size). 64 KiB: a whole `messageBytesMax` reply, or many events.
    static let bytesPerCallbackMax = 64 * 1_024

    /// The budget of every WebSocket writeable callback.
    static let perCallback = WriteBudget(framesMax: framesPerCallbackMax, bytesMax: bytesPerCallbackMax)

    let framesMax: Int
    let bytesMax: Int

    init(framesMax: Int, bytesMax: Int) {
        precondition(framesMax >= 1, "a write budget must allow one frame")
        precondition(bytesMax >= 1, "a write budget must allow some bytes")
        self.framesMax = framesMax
        self.bytesMax = bytesMax
    }
}

/// What one writeable callback may write to one connection, taken by ``OutboundQueue/peek(within:)``: queued
/// messages, oldest first, and the close when it is next after them. The messages stay queued (and count against
/// the queue's limits) until ``OutboundQueue/consume(_:)`` removes those lws took.
struct WriteBatch: Sendable, Equatable {
    var messages: [OutboundMessage] = []
    /// The close waiting behind `messages` with nothing else queued: sent once every one of them is written.
    var close: CloseRequest?

    var isEmpty: Bool { messages.isEmpty && close == nil }
}
