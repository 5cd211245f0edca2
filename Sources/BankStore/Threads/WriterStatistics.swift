import Synchronization

/// One commit of the writer, as an observer of ``DatabaseWriter/observeCommits(_:)`` sees it.
public struct CommitSample: Sendable, Equatable {
    /// Jobs that shared the commit (1...`DatabaseWriter.batchJobsMax`).
    public let batchSize: Int
    /// From BEGIN to the end of COMMIT, in nanoseconds on a monotonic clock. Without the commit pipeline the
    /// fsync is inside COMMIT and so included; with it, COMMIT only appends to the WAL.
    public let durationNanoseconds: UInt64
    /// The WAL fsync that made this commit durable (one fsync may cover several commits), in nanoseconds; nil
    /// without the commit pipeline, where it is inside `durationNanoseconds`.
    public let syncNanoseconds: UInt64?

    public init(batchSize: Int, durationNanoseconds: UInt64, syncNanoseconds: UInt64? = nil) {
        self.batchSize = batchSize
        self.durationNanoseconds = durationNanoseconds
        self.syncNanoseconds = syncNanoseconds
    }
}

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

/// Carries a value out of a job body into its completion; both run on the writer thread, one after the other.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)

    func set(_ newValue: T) { value.withLock { $0 = newValue } }

    func take() -> T {
        guard let taken = value.withLock({ $0 }) else { preconditionFailure("job completed without a value") }
        return taken
    }
}
