import BankCore
import Foundation

/// The one writer of the database. Every write goes through it, grouped: all jobs queued while a commit is
/// under way share the next commit (group commit), so many operations pay for one fsync, and each job's
/// completion runs only after the COMMIT that made it durable returned.
public final class DatabaseWriter: Sendable {
    /// How a job's failure is contained.
    public enum Isolation: Sendable {
        /// The job runs inside a SAVEPOINT; if it throws, only its own changes are rolled back and only it fails.
        case savepoint
        /// Ledger writes: they mirror state already applied in memory and cannot fail for business reasons. If
        /// one throws, or the commit fails, the process stops (fail-stop) so memory and disk never disagree;
        /// nothing unacknowledged is lost because nothing in the batch was acknowledged.
        case ledger
    }

    public struct Job: Sendable {
        let isolation: Isolation
        let body: @Sendable (SQLiteConnection) throws -> Void
        /// Account balances this job leaves behind; written once per account per commit (see `commit`).
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

    public init(path: String) throws {
        let statistics = self.statistics
        let checkpointer = try WALCheckpointer(path: path)
        let completions = CompletionThread(name: "bankhub-completions")
        self.checkpointer = checkpointer
        self.completions = completions
        thread = try ConnectionThread(name: "bankhub-writer", batchJobsMax: Self.batchJobsMax, open: {
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try Schema.migrate(connection)
            try connection.execute("PRAGMA wal_autocheckpoint = \(Self.walPagesMax)")
            return connection
        }, process: { connection, jobs in
            let started = DispatchTime.now().uptimeNanoseconds
            if let completed = Self.commit(jobs, on: connection) { completions.submit(completed) }
            let duration = DispatchTime.now().uptimeNanoseconds - started
            checkpointer.request()
            statistics.record(batchSize: jobs.count, durationNanoseconds: duration)
        })
    }

    /// Queues `body` for the next commit; `completion` runs on the writer thread after that commit.
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

    /// Runs the jobs in one transaction and commits; returns their completions, to run after the COMMIT
    /// (nil when they have already been failed).
    private static func commit(_ jobs: [Job], on connection: SQLiteConnection) -> CompletionThread.Batch? {
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            fail(jobs, error)
            return nil
        }
        var balances = BatchBalances()
        for job in jobs {
            switch job.isolation {
            case .ledger:
                do {
                    try job.body(connection)
                    balances.record(job.balances)
                    outcomes.append(.success(()))
                } catch {
                    fatalError("ledger write failed, stopping so memory and disk never disagree: \(error)")
                }
            case .savepoint:
                // A general job may read balances: it sees those of the ledger jobs before it.
                flush(&balances, connection)
                outcomes.append(runInSavepoint(job, connection))
            }
        }
        flush(&balances, connection)
        do {
            try connection.execute("COMMIT")
        } catch {
            if jobs.contains(where: { $0.isolation == .ledger }) {
                fatalError("ledger commit failed, stopping so memory and disk never disagree: \(error)")
            }
            try? connection.execute("ROLLBACK")
            fail(jobs, error)
            return nil
        }
        return zip(jobs, outcomes).map { job, outcome in { job.completion(outcome) } }
    }

    private static func flush(_ balances: inout BatchBalances, _ connection: SQLiteConnection) {
        do {
            try balances.flush(connection)
        } catch {
            fatalError("balance write failed, stopping so memory and disk never disagree: \(error)")
        }
    }

    private static func runInSavepoint(_ job: Job, _ connection: SQLiteConnection) -> Result<Void, any Error> {
        do {
            try connection.execute("SAVEPOINT job")
            do {
                try job.body(connection)
                try connection.execute("RELEASE job")
                return .success(())
            } catch {
                try connection.execute("ROLLBACK TO job; RELEASE job")
                return .failure(error)
            }
        } catch {
            return .failure(error)
        }
    }

    private static func fail(_ jobs: [Job], _ error: any Error) {
        for job in jobs { job.completion(.failure(error)) }
    }
}

extension DatabaseWriter.Isolation: Equatable {}
