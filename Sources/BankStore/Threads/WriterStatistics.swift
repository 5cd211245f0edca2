import Synchronization

/// Counts commits and the jobs they carried, to show how well group commit is grouping.
final class WriterStatistics: Sendable {
    private let counts = Mutex<(count: Int, jobs: Int)>((0, 0))

    func record(batchSize: Int) {
        counts.withLock { $0 = ($0.count + 1, $0.jobs + batchSize) }
    }

    var snapshot: (count: Int, jobs: Int) { counts.withLock { $0 } }
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
