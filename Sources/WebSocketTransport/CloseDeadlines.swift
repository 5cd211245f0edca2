/// When each closing connection must be gone, whatever its peer does. Pure: the caller passes the time.
///
/// A close (any code: the application's, 4008 on overflow, 1009, 1001 at shutdown, or one the peer started)
/// may never complete on its own: a peer that stops reading leaves the close frame behind data that cannot
/// be written, and lws then waits. Each close starts a deadline `timeout` ahead; the service thread's timer
/// asks for the connections past theirs and has lws drop them.
struct CloseDeadlines {
    typealias Instant = ContinuousClock.Instant

    let timeout: Duration
    private var deadlines: [ConnectionID: Instant] = [:]

    init(timeout: Duration) {
        precondition(timeout > .zero, "the close timeout must be positive")
        self.timeout = timeout
    }

    /// Starts `id`'s deadline at `now + (within ?? timeout)`, unless an earlier one is already running (a later
    /// close never extends it). Returns true when the deadline was set or moved earlier.
    @discardableResult
    mutating func closeRequested(_ id: ConnectionID, at now: Instant, within: Duration? = nil) -> Bool {
        let wait = within ?? timeout
        precondition(wait >= .zero, "a close deadline cannot be in the past")
        let deadline = now + wait
        if let current = deadlines[id], current <= deadline { return false }
        deadlines[id] = deadline
        return true
    }

    /// The connections whose deadline is at or before `now`; they are forgotten (each is reported once).
    mutating func expired(at now: Instant) -> [ConnectionID] {
        guard !deadlines.isEmpty else { return [] }
        let due = deadlines.filter { $0.value <= now }.keys.sorted()
        for id in due { deadlines[id] = nil }
        return due
    }

    /// The connection is gone: no deadline any more.
    mutating func remove(_ id: ConnectionID) {
        deadlines[id] = nil
    }

    var count: Int { deadlines.count }

    func deadline(of id: ConnectionID) -> Instant? { deadlines[id] }
}
