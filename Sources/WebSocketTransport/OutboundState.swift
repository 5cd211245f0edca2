/// State shared between caller threads and the service thread; lives inside a `Mutex`.
struct OutboundState: Sendable {
    /// One queue per open connection; the key set is also the set of open connections.
    var queues: [ConnectionID: OutboundQueue] = [:]
    /// Connections whose queue went idle -> busy since the service thread last looked.
    var writableRequests: [ConnectionID] = []
    /// Set once by `shutdown()`; the service thread then closes everything with 1001.
    var shutdownRequested = false
    /// Set by the service thread when it stops accepting (shutdown or context destroyed).
    var acceptingStopped = false

    /// Queues `bytes` for `id`; returns whether the service thread must be woken, or nil if refused.
    mutating func enqueue(_ bytes: [UInt8], to id: ConnectionID,
                          bytesMax: Int, messagesMax: Int) -> (accepted: Bool, wake: Bool) {
        guard let result = queues[id]?.enqueue(bytes, bytesMax: bytesMax, messagesMax: messagesMax) else {
            return (false, false)
        }
        switch result {
        case .queued(let wasIdle):
            if wasIdle { writableRequests.append(id) }
            return (true, wasIdle)
        case .closing:
            return (false, false)
        case .overflowed:
            // The close must reach the service thread even if writes were already pending.
            writableRequests.append(id)
            return (false, true)
        }
    }

    /// Asks for a close after the queued messages; returns whether the service thread must be woken.
    mutating func requestClose(_ request: CloseRequest, for id: ConnectionID) -> Bool {
        guard let wasIdle = queues[id]?.requestClose(request) else { return false }
        if wasIdle { writableRequests.append(id) }
        return wasIdle
    }

    /// Takes the pending writable requests (service thread).
    mutating func takeWritableRequests() -> [ConnectionID] {
        defer { writableRequests = [] }
        return writableRequests
    }
}
