import Synchronization

/// A fault-injection point, like the test-only SQLite VFS `CSQLiteFaults`: armed, it makes the next
/// `failures` accepts on the listener fail with `error` (e.g. EMFILE) without calling accept(2), so
/// the connection stays in the backlog exactly as under a real EMFILE. Compiled into the product but inert: only
/// a server whose `WebSocketServerConfiguration.acceptFaults` is set (internal; tests set it through
/// `@testable import`) consults one, and an unarmed one changes nothing. Lowering RLIMIT_NOFILE instead would hit
/// every test running in the process.
final class AcceptFaultInjection: Sendable {
    private let remaining = Atomic<Int>(0)
    private let error = Atomic<Int32>(0)
    /// Accepts that reached the injection point (failed or not), for tests counting attempts.
    private let attemptCount = Atomic<Int>(0)

    init() {}

    var attempts: Int { attemptCount.load(ordering: .relaxed) }

    /// Fails the next `failures` accepts with `error` (any thread).
    func arm(failures: Int, error: Int32) {
        precondition(failures >= 0 && error > 0, "arm with a count and an errno")
        self.error.store(error, ordering: .relaxed)
        remaining.store(failures, ordering: .releasing)
    }

    /// Lets every accept through again (any thread).
    func disarm() { remaining.store(0, ordering: .releasing) }

    /// The errno to fail this accept with, or nil to call accept(2) (service thread).
    func take() -> Int32? {
        attemptCount.add(1, ordering: .relaxed)
        // A compare-exchange, not load-then-subtract: a `disarm` between the two must not leave -1 behind.
        var current = remaining.load(ordering: .acquiring)
        while current > 0 {
            let (exchanged, original) = remaining.compareExchange(expected: current, desired: current - 1,
                                                                  ordering: .acquiringAndReleasing)
            if exchanged { return error.load(ordering: .relaxed) }
            current = original
        }
        return nil
    }
}
