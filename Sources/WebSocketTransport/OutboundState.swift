/// State shared between caller threads and the service thread; lives inside a `Mutex`.
struct OutboundState: Sendable {
    /// One queue per open connection; the key set is also the set of open connections.
    var queues: [ConnectionID: OutboundQueue] = [:]
    /// Connections whose queue went idle -> busy since the service thread last looked.
    var writableRequests: [ConnectionID] = []
    /// Connections with a close newly asked for (by the application or by an overflow) since the service
    /// thread last looked: it starts their close deadline.
    var closeRequests: [ConnectionID] = []
    /// Set once by `shutdown()`; the service thread then closes everything with 1001.
    var shutdownRequested = false
    /// Set by the service thread when it stops accepting (shutdown or context destroyed).
    var acceptingStopped = false
    /// Whether a wake-up is already on its way; cleared when the service thread takes the writable requests.
    var wakeSignal = WakeSignal()

    /// What an enqueue did, for the caller: whether the message was taken, whether the service thread must
    /// be told (``wakeNeeded(_:)`` says whether that takes a wake-up), and whether this message overflowed the
    /// queue (a slow-consumer close).
    struct EnqueueOutcome: Equatable {
        var accepted: Bool
        var wake: Bool
        var overflowed = false
    }

    /// Queues `message` for `id`; says whether the service thread must be woken, or that it was refused.
    mutating func enqueue(_ message: OutboundMessage, to id: ConnectionID,
                          bytesMax: Int, messagesMax: Int) -> EnqueueOutcome {
        guard let result = queues[id]?.enqueue(message, bytesMax: bytesMax, messagesMax: messagesMax) else {
            return EnqueueOutcome(accepted: false, wake: false)
        }
        switch result {
        case .queued(let wasIdle):
            if wasIdle { writableRequests.append(id) }
            return EnqueueOutcome(accepted: true, wake: wasIdle)
        case .closing:
            return EnqueueOutcome(accepted: false, wake: false)
        case .overflowed:
            // The close must reach the service thread even if writes were already pending, and its
            // deadline must start now: the peer may never read again.
            writableRequests.append(id)
            closeRequests.append(id)
            return EnqueueOutcome(accepted: false, wake: true, overflowed: true)
        }
    }

    /// Asks for a close after the queued messages; returns whether the service thread must be woken
    /// (always, for a new close: its deadline starts on the service thread).
    mutating func requestClose(_ request: CloseRequest, for id: ConnectionID) -> Bool {
        guard let queue = queues[id], queue.closeRequest == nil else { return false }
        let wasIdle = queues[id]!.requestClose(request)
        if wasIdle { writableRequests.append(id) }
        closeRequests.append(id)
        return true
    }

    /// After recording work the service thread must see (`needed`): whether this caller must wake it with
    /// `lws_cancel_service`. False when a wake-up is already on its way: it takes this work too.
    mutating func wakeNeeded(_ needed: Bool) -> Bool {
        needed && wakeSignal.request()
    }

    /// Takes the pending writable requests (service thread); a request recorded after this needs a new wake-up.
    mutating func takeWritableRequests() -> [ConnectionID] {
        wakeSignal.serviceTookRequests()
        defer { writableRequests = [] }
        return writableRequests
    }

    /// Takes the connections whose close was newly requested (service thread).
    mutating func takeCloseRequests() -> [ConnectionID] {
        defer { closeRequests = [] }
        return closeRequests
    }
}
