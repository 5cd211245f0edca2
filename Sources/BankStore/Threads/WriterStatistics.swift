import BankStorage
import Synchronization

/// Counts commits and the jobs they carried, to show how well group commit is grouping, and the batches
/// that failed, with the last reason (the SQLite error and its SQL, never bound values); passes each commit to
/// an observer (the hub's metrics), so this module needs no metrics library.
final class WriterStatistics: Sendable {
    private let counts = Mutex<(count: Int, jobs: Int)>((0, 0))
    /// The closure sits in a struct: a bare closure as a `Mutex`'s value is re-abstracted on every `withLock`
    /// access and the stored value grows by two thunks each time, which made every commit slower than the last
    /// and overflowed the writer thread's stack after some tens of thousands of commits.
    private let observer = Mutex<CommitObserver?>(nil)
    private let failed = Mutex<(count: Int, last: String?)>((0, nil))

    /// Runs after each commit is durable (on the writer thread, or the syncer's with the pipeline): it must be
    /// quick and never block.
    func record(batchSize: Int, durationNanoseconds: UInt64, syncNanoseconds: UInt64? = nil) {
        precondition(batchSize > 0, "a commit carries at least one job")
        counts.withLock { $0 = ($0.count + 1, $0.jobs + batchSize) }
        let observe = observer.withLock { $0 }
        observe?.call(CommitSample(batchSize: batchSize, durationNanoseconds: durationNanoseconds,
                                   syncNanoseconds: syncNanoseconds))
    }

    func observe(_ newObserver: @escaping @Sendable (CommitSample) -> Void) {
        observer.withLock { $0 = CommitObserver(call: newObserver) }
    }

    func recordFailure(_ cause: Any) {
        failed.withLock { $0 = ($0.count + 1, "\(cause)") }
    }

    var snapshot: (count: Int, jobs: Int) { counts.withLock { $0 } }
    var failures: (count: Int, last: String?) { failed.withLock { $0 } }
}

/// A commit observer, boxed so that storing and reading it never wraps it (see `WriterStatistics.observer`).
private struct CommitObserver: Sendable {
    let call: @Sendable (CommitSample) -> Void
}
