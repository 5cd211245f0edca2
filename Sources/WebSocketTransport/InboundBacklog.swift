import Synchronization

/// Inbound back-pressure: how many messages each connection has handed to the application that it has not
/// yet consumed. Past `messagesMax` the service thread stops reading that socket (`lws_rx_flow_control`), so
/// the peer's TCP window fills and it slows down; once the application has consumed down to half, reading
/// resumes. This bounds the events stream per connection instead of letting a flood grow it without limit.
final class InboundBacklog: Sendable {
    private struct Entry {
        var pending = 0
        var paused = false
    }

    private struct State {
        var entries: [ConnectionID: Entry] = [:]
        var resumes: [ConnectionID] = []
    }

    let messagesMax: Int
    private let state = Mutex(State())

    init(messagesMax: Int) {
        precondition(messagesMax >= 2, "inboundMessagesMax must be at least 2")
        self.messagesMax = messagesMax
    }

    /// Service thread: one more message handed over. True when reading must pause now.
    func received(_ id: ConnectionID) -> Bool {
        state.withLock { state in
            var entry = state.entries[id, default: Entry()]
            entry.pending += 1
            let pause = !entry.paused && entry.pending >= messagesMax
            if pause { entry.paused = true }
            state.entries[id] = entry
            return pause
        }
    }

    /// Any thread: the application consumed one message. True when the service thread must resume reading
    /// (the id is then waiting in `takeResumes`).
    func consumed(_ id: ConnectionID) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[id] else { return false }
            entry.pending = max(0, entry.pending - 1)
            let resume = entry.paused && entry.pending <= messagesMax / 2
            if resume {
                entry.paused = false
                state.resumes.append(id)
            }
            state.entries[id] = entry
            return resume
        }
    }

    /// Service thread: connections whose reading should resume.
    func takeResumes() -> [ConnectionID] {
        state.withLock { state in
            defer { state.resumes.removeAll(keepingCapacity: true) }
            return state.resumes
        }
    }

    func remove(_ id: ConnectionID) {
        state.withLock { _ = $0.entries.removeValue(forKey: id) }
    }

    /// Messages handed over and not yet consumed, for one connection.
    func pending(_ id: ConnectionID) -> Int {
        state.withLock { $0.entries[id]?.pending ?? 0 }
    }
}
