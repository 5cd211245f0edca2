import Synchronization

/// Carries transport events from the service thread to the application's one consumer in batches: whatever
/// arrived while the consumer was busy is handed over at once by its next `next()`, so under load the consumer
/// pays one wake-up and one hop per batch rather than per message, and when idle it gets each event at once.
/// Per-connection order is the order of `post`.
final class EventMailbox: Sendable {
    private struct State {
        var events: [TransportEvent] = []
        var waiter: CheckedContinuation<[TransportEvent]?, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    /// Queues an event (any thread); wakes the consumer if it is waiting. Ignored once finished.
    func post(_ event: TransportEvent) {
        let wake = state.withLock { state -> (CheckedContinuation<[TransportEvent]?, Never>, [TransportEvent])? in
            guard !state.finished else { return nil }
            state.events.append(event)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            defer { state.events = [] }
            return (waiter, state.events)
        }
        if let (waiter, batch) = wake { waiter.resume(returning: batch) }
    }

    /// Every event queued since the last call, in order, waiting for at least one; nil once finished and
    /// drained. One consumer at a time.
    func next() async -> [TransportEvent]? {
        await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> [TransportEvent]?? in
                if !state.events.isEmpty {
                    defer { state.events = [] }
                    return .some(state.events)
                }
                if state.finished { return .some(nil) }
                precondition(state.waiter == nil, "one consumer at a time")
                state.waiter = continuation
                return .none
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// No event follows: a waiting consumer gets nil, and later calls nil after what is still queued.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[TransportEvent]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
