import WebSocketTransport

/// When each connection must be looked at again without waiting for its next request: an anonymous one when its
/// time to log in is up, a signed-in one when its session expires (its subscriptions end then, not at its next
/// request). Pure, time passed in: the hub calls `due(now:)` from its timer and checks each deadline against the
/// connection as it is then (it may have logged in, closed, or resumed another session meanwhile).
///
/// A binary min-heap by time: adding and taking are O(log n). Deadlines of closed connections stay until they
/// are due or `prune` drops them; the hub prunes when deadlines outnumber connections twice over, so the heap
/// stays within a few times the number of connections.
struct ConnectionDeadlines {
    enum Kind: Sendable, Equatable {
        /// The connection was opened at `at - anonymousMillisecondsMax` and must have logged in by `at`.
        case signIn
        /// The session with this token hash expires at `at`.
        case sessionExpiry(tokenHash: [UInt8])
    }

    struct Deadline: Sendable, Equatable {
        let at: Int64
        let connection: ConnectionID
        let kind: Kind
    }

    private var heap: [Deadline] = []

    var count: Int { heap.count }

    /// The earliest deadline, if any.
    var next: Int64? { heap.first?.at }

    mutating func add(_ deadline: Deadline) {
        heap.append(deadline)
        siftUp(heap.count - 1)
    }

    /// Removes and returns the deadlines at or before `now`, earliest first.
    mutating func due(now: Int64) -> [Deadline] {
        var due: [Deadline] = []
        while let first = heap.first, first.at <= now {
            due.append(first)
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        assert(zip(due, due.dropFirst()).allSatisfy { $0.at <= $1.at }, "deadlines come out in time order")
        return due
    }

    /// Keeps only the deadlines `keep` accepts (the hub drops those of closed connections).
    mutating func prune(keeping keep: (Deadline) -> Bool) {
        heap = heap.filter(keep)
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
