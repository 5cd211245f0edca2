import CNATS

/// What libnats's connection callbacks need: the events continuation. Passed to C as a retained `Unmanaged`
/// pointer; the closed callback (called once, after the last other connection callback) releases it.
final class ConnectionCallbacks: Sendable {
    let events: AsyncStream<BusEvent>.Continuation

    init(events: AsyncStream<BusEvent>.Continuation) {
        self.events = events
    }

    /// The `void *closure` libnats hands back to every callback.
    static func from(_ closure: UnsafeMutableRawPointer?) -> ConnectionCallbacks {
        precondition(closure != nil, "libnats callback without its closure")
        return Unmanaged<ConnectionCallbacks>.fromOpaque(closure!).takeUnretainedValue()
    }

    /// C callbacks: each runs on a libnats thread and only hands the event to the stream (no blocking).
    static let connected: natsConnectionHandler = { _, closure in from(closure).events.yield(.connected) }
    static let disconnected: natsConnectionHandler = { _, closure in from(closure).events.yield(.disconnected) }
    static let reconnected: natsConnectionHandler = { _, closure in from(closure).events.yield(.reconnected) }
    static let closed: natsConnectionHandler = { _, closure in
        let callbacks = Unmanaged<ConnectionCallbacks>.fromOpaque(closure!).takeRetainedValue()
        callbacks.events.yield(.closed)
        callbacks.events.finish()
    }
}

/// One subscription's continuation, passed to C as a retained `Unmanaged` pointer; libnats's on-complete
/// callback (after the subscription closed and its handler returned for the last time) releases it.
final class SubscriptionSink: Sendable {
    let messages: AsyncStream<BusMessage>.Continuation

    init(messages: AsyncStream<BusMessage>.Continuation) {
        self.messages = messages
    }

    /// Copies the message out of libnats (which owns and then frees it) into the bounded stream.
    static let onMessage: natsMsgHandler = { _, _, message, closure in
        precondition(closure != nil && message != nil, "libnats message callback without message or closure")
        let sink = Unmanaged<SubscriptionSink>.fromOpaque(closure!).takeUnretainedValue()
        let length = Int(natsMsg_GetDataLength(message))
        var payload = [UInt8](repeating: 0, count: length)
        if length > 0, let data = natsMsg_GetData(message) {
            payload.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: length)) }
        }
        let subject = String(cString: natsMsg_GetSubject(message))
        natsMsg_Destroy(message)
        sink.messages.yield(BusMessage(subject: subject, payload: payload))
    }

    static let onComplete: natsOnCompleteCB = { closure in
        let sink = Unmanaged<SubscriptionSink>.fromOpaque(closure!).takeRetainedValue()
        sink.messages.finish()
    }
}
