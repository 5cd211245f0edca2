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
        let completion: @Sendable (Result<Void, any Error>) -> Void
    }

    /// The largest number of jobs that share one commit.
    public static let batchJobsMax = 8_192

    private let thread: ConnectionThread<Job>
    private let statistics = WriterStatistics()

    public init(path: String) throws {
        let statistics = self.statistics
        thread = try ConnectionThread(name: "bankhub-writer", batchJobsMax: Self.batchJobsMax, open: {
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try Schema.migrate(connection)
            return connection
        }, process: { connection, jobs in
            Self.commit(jobs, on: connection)
            statistics.record(batchSize: jobs.count)
        })
    }

    /// Queues `body` for the next commit; `completion` runs on the writer thread after that commit.
    public func submit(_ isolation: Isolation, _ body: @escaping @Sendable (SQLiteConnection) throws -> Void,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        thread.submit(Job(isolation: isolation, body: body, completion: completion))
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

    /// Commits what is queued and closes the connection.
    public func close() { thread.stop() }

    private static func commit(_ jobs: [Job], on connection: SQLiteConnection) {
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            fail(jobs, error)
            return
        }
        for job in jobs {
            switch job.isolation {
            case .ledger:
                do {
                    try job.body(connection)
                    outcomes.append(.success(()))
                } catch {
                    fatalError("ledger write failed, stopping so memory and disk never disagree: \(error)")
                }
            case .savepoint:
                outcomes.append(runInSavepoint(job, connection))
            }
        }
        do {
            try connection.execute("COMMIT")
        } catch {
            if jobs.contains(where: { $0.isolation == .ledger }) {
                fatalError("ledger commit failed, stopping so memory and disk never disagree: \(error)")
            }
            try? connection.execute("ROLLBACK")
            fail(jobs, error)
            return
        }
        for (job, outcome) in zip(jobs, outcomes) { job.completion(outcome) }
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
