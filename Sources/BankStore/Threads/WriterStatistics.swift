import Synchronization

/// Counts commits and the jobs they carried, to show how well group commit is grouping, and the batches
/// that failed, with the last reason (the SQLite error and its SQL, never bound values).
final class WriterStatistics: Sendable {
    private let counts = Mutex<(count: Int, jobs: Int)>((0, 0))
    private let failed = Mutex<(count: Int, last: String?)>((0, nil))

    func record(batchSize: Int) {
        counts.withLock { $0 = ($0.count + 1, $0.jobs + batchSize) }
    }

    func recordFailure(_ cause: Any) {
        failed.withLock { $0 = ($0.count + 1, "\(cause)") }
    }

    var snapshot: (count: Int, jobs: Int) { counts.withLock { $0 } }
    var failures: (count: Int, last: String?) { failed.withLock { $0 } }
}

/// Carries a value out of a job body into its completion; both run on the writer thread, one after the other.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)

    func set(_ newValue: T) { value.withLock { $0 = newValue } }

    func take() -> T {
        guard let taken = value.withLock({ $0 }) else { preconditionFailure("job completed without a value") }
        return taken
    }
}
