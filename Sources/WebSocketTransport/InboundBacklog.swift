import Synchronization

/// Inbound back-pressure: how many messages, and how many bytes, each connection has handed to the application
/// that it has not yet consumed. Past `messagesMax` messages or `bytesMax` bytes the service thread stops reading
/// that socket (`lws_rx_flow_control`), so the peer's TCP window fills and it slows down; once the application
/// has consumed down to half of both, reading resumes. This bounds the events stream per connection (at most
/// `bytesMax` plus one message) instead of letting a flood grow it without limit.
///
/// The application consumes each connection's messages in the order they were delivered, so the sizes are a
/// FIFO per connection.
final class InboundBacklog: Sendable {
    private struct Entry {
        /// Sizes of the messages handed over and not yet consumed, oldest at `head`.
        var sizes: [Int] = []
        var head = 0
        var pendingBytes = 0
        var paused = false

        var pendingMessages: Int { sizes.count - head }

        mutating func popOldest() {
            guard head < sizes.count else { return }
            pendingBytes -= sizes[head]
            head += 1
            if head == sizes.count {
                sizes.removeAll(keepingCapacity: sizes.count <= 64)
                head = 0
            } else if head >= 64 && head * 2 >= sizes.count {
                sizes.removeFirst(head)
                head = 0
            }
            assert(pendingBytes >= 0)
        }
    }

    private struct State {
        var entries: [ConnectionID: Entry] = [:]
        var resumes: [ConnectionID] = []
    }

    let messagesMax: Int
    let bytesMax: Int
    private let state = Mutex(State())

    init(messagesMax: Int, bytesMax: Int) {
        precondition(messagesMax >= 2, "inboundMessagesMax must be at least 2")
        precondition(bytesMax >= 2, "inboundBytesMax must be at least 2")
        self.messagesMax = messagesMax
        self.bytesMax = bytesMax
    }

    /// Service thread: one more message of `byteCount` bytes handed over. True when reading must pause now.
    func received(_ id: ConnectionID, byteCount: Int) -> Bool {
        precondition(byteCount >= 0)
        return state.withLock { state in
            var entry = state.entries[id, default: Entry()]
            entry.sizes.append(byteCount)
            entry.pendingBytes += byteCount
            let full = entry.pendingMessages >= messagesMax || entry.pendingBytes >= bytesMax
            let pause = !entry.paused && full
            if pause { entry.paused = true }
            state.entries[id] = entry
            return pause
        }
    }

    /// Any thread: the application consumed its oldest message of `id`. True when the service thread must
    /// resume reading (the id is then waiting in `takeResumes`).
    func consumed(_ id: ConnectionID) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[id] else { return false }
            entry.popOldest()
            let resume = entry.paused && entry.pendingMessages <= messagesMax / 2
                && entry.pendingBytes <= bytesMax / 2
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
        state.withLock { $0.entries[id]?.pendingMessages ?? 0 }
    }

    /// Bytes handed over and not yet consumed, for one connection.
    func pendingBytes(_ id: ConnectionID) -> Int {
        state.withLock { $0.entries[id]?.pendingBytes ?? 0 }
    }
}
