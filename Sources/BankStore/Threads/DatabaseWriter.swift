import BankCore
import Foundation

/// The one writer of the database. Every write goes through it, grouped: all jobs queued while a commit is
/// under way share the next commit (group commit), so many operations pay for one fsync, and each job's
/// completion runs only after the COMMIT that made it durable returned.
public final class DatabaseWriter: Sendable {
    /// How a job's failure is contained.
    public enum Isolation: Sendable {
        /// The job runs inside a SAVEPOINT; if it throws, only its own changes are rolled back and only it fails
        /// (unless SQLite rolled the whole transaction back: then the whole batch fails, see `BatchCommit`).
        case savepoint
        /// Ledger writes: they mirror state already applied in memory and cannot fail for business reasons. If
        /// one throws, or their batch does not commit for any reason, the writer fail-stops (see
        /// `StorageOptions.FailStop`) so memory and disk never disagree; nothing unacknowledged is lost because
        /// nothing in the batch was acknowledged.
        case ledger
    }

    public struct Job: Sendable {
        let isolation: Isolation
        let body: @Sendable (SQLiteConnection) throws -> Void
        /// Account balances this job leaves behind; written once per account per commit (see `BatchCommit`).
        let balances: [BalanceWrite]
        let completion: @Sendable (Result<Void, any Error>) -> Void
    }

    /// The largest number of jobs that share one commit.
    public static let batchJobsMax = 8_192
    /// WAL size (in pages) at which the writer checkpoints itself and the WAL starts over; the background
    /// checkpointer keeps the pages to copy at that point few.
    public static let walPagesMax = 16_384

    private let thread: ConnectionThread<Job>
    private let checkpointer: WALCheckpointer
    private let completions: CompletionThread
    private let statistics = WriterStatistics()
    /// Claimed when the writer must not go on (see `StorageOptions.FailStop`); from then on it commits nothing.
    private let halted = OnceFlag()

    /// Opens (creating or migrating) the database at `path`. `options.vfs` and `options.failStop` are seams
    /// for fault-injection tests; the defaults are production's.
    public init(path: String, options: StorageOptions = StorageOptions()) throws {
        let statistics = self.statistics
        let halted = self.halted
        let failStop = options.failStop
        let vfs = options.vfs
        let checkpointer = try WALCheckpointer(path: path)
        let completions = CompletionThread(name: "bankhub-completions")
        self.checkpointer = checkpointer
        self.completions = completions
        thread = try ConnectionThread(name: "bankhub-writer", batchJobsMax: Self.batchJobsMax, open: {
            let connection = try SQLiteConnection(path: path, mode: .readWrite, vfs: vfs)
            try Schema.migrate(connection)
            try connection.execute("PRAGMA wal_autocheckpoint = \(Self.walPagesMax)")
            return connection
        }, process: { connection, jobs in
            guard !halted.isClaimed else {
                Self.refuse(jobs, completions)
                return
            }
            let started = DispatchTime.now().uptimeNanoseconds
            switch BatchCommit.run(jobs, on: connection) {
            case .committed(let outcomes):
                completions.submit(zip(jobs, outcomes).map { job, outcome in { job.completion(outcome) } })
                checkpointer.request()
                statistics.record(batchSize: jobs.count, durationNanoseconds: DispatchTime.now().uptimeNanoseconds - started)
            case .failed(let error, let cause):
                // Nothing of the batch is on disk; the next batch starts afresh (the error may be transient).
                statistics.recordFailure(cause)
                completions.submit(jobs.map { job in { job.completion(.failure(error)) } })
            case .mustStop(let reason, let error, let outcomeKnown):
                statistics.recordFailure(reason)
                _ = halted.claim()
                let general = jobs.filter { $0.isolation == .savepoint }
                if outcomeKnown { completions.submit(general.map { job in { job.completion(.failure(error)) } }) }
                failStop(reason)
                // Reached only when `failStop` returned (the tests' seam; the product has stopped by now): the
                // process goes on, so in-process waiters of the general jobs must not wait for ever. Their
                // answer says that the outcome is unknown.
                if !outcomeKnown { completions.submit(general.map { job in { job.completion(.failure(error)) } }) }
            }
        })
    }

    /// Queues `body` for the next commit; `completion` runs on the completion thread after that commit (or
    /// with `unavailable` when the batch could not commit).
    /// `balances` are written after every job of the commit ran, the last value per account winning.
    public func submit(_ isolation: Isolation, balances: [BalanceWrite] = [],
                       _ body: @escaping @Sendable (SQLiteConnection) throws -> Void,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        thread.submit(Job(isolation: isolation, body: body, balances: balances, completion: completion))
    }

    /// Runs `body` in the next commit and returns its result once durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let box = ResultBox<T>()
            submit(.savepoint, { connection in box.set(try body(connection)) }, completion: { result in
                continuation.resume(with: result.map { box.take() })
            })
        }
    }

    public var queuedJobs: Int { thread.queuedCount }
    public var commits: (count: Int, jobs: Int) { statistics.snapshot }
    /// Batches that did not commit, and why the last one did not.
    public var failures: (count: Int, last: String?) { statistics.failures }
    /// True once the writer stopped committing (see `StorageOptions.FailStop`).
    public var isHalted: Bool { halted.isClaimed }

    /// Calls `observer` on the writer thread after every commit (or failed commit) with its batch size and
    /// duration; it must be quick and never block. A second call replaces the first observer.
    public func observeCommits(_ observer: @escaping @Sendable (CommitSample) -> Void) {
        statistics.observe(observer)
    }

    /// Commits what is queued and closes the connection.
    public func close() {
        thread.stop()
        completions.stop()
        checkpointer.stop()
    }

    /// A halted writer's answer to every later job: general jobs fail; ledger jobs are never completed (their
    /// change is in memory only, and the process is meant to stop).
    private static func refuse(_ jobs: [Job], _ completions: CompletionThread) {
        let error = BankError(.unavailable, "the database writer has stopped; the operation did not happen")
        completions.submit(jobs.filter { $0.isolation == .savepoint }.map { job in { job.completion(.failure(error)) } })
    }
}

extension DatabaseWriter.Isolation: Equatable {}
