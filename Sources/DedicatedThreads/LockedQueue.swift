import Synchronization

/// A first-in-first-out queue behind a mutex, shared by the threads that fill it and the dedicated thread that
/// drains it (a class, so a thread's body can hold it before the owner's initialiser finishes).
public final class LockedQueue<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    public init() {}

    /// Appends; true when the queue was empty before (the consumer may need a wake-up).
    @discardableResult
    public func append(_ element: Element) -> Bool {
        items.withLock { queue in
            queue.append(element)
            return queue.count == 1
        }
    }

    /// Removes and returns the first `max` elements (fewer when fewer are queued).
    public func take(max: Int) -> [Element] {
        items.withLock { queue in
            let count = min(queue.count, max)
            let taken = Array(queue.prefix(count))
            queue.removeFirst(count)
            return taken
        }
    }

    /// Removes and returns the first element, or nil.
    public func popFirst() -> Element? {
        items.withLock { queue in queue.isEmpty ? nil : queue.removeFirst() }
    }

    public var count: Int { items.withLock { $0.count } }
}
