import BankCore
import BankStorage
import DedicatedThreads
import Dispatch
import Synchronization

/// The one writer of a hub's PostgreSQL database: the `StorageWriter` SQLite's `DatabaseWriter` also is, with the
/// same semantics. Group commit: every job queued while a commit runs shares the next transaction, and each
/// job's completion runs only after the COMMIT that holds it returned (durable: `synchronous_commit = on`).
/// Completions run on the writer thread, in commit order, right after COMMIT.
///
/// Its session holds the hub lock (`PostgresHubLock`), so a second hub on the same database refuses to start.
/// A lost connection fails the batch with `unavailable` and the next batch connects again (taking the lock
/// again); a batch with ledger writes that did not commit, or whose COMMIT's outcome is unknown, fail-stops.
public final class PostgresWriter: StorageWriter {
    struct Job: Sendable {
        let isolation: WriteIsolation
        let body: @Sendable (any SQLDatabase) throws -> Void
        let balances: [BalanceWrite]
        let completion: @Sendable (Result<Void, any Error>) -> Void
    }

    /// The largest number of jobs that share one commit.
    public static let batchJobsMax = 8_192

    private let thread: ConnectionThread<PostgresWriterSession, Job>
    private let statistics = PostgresWriterStatistics()
    /// Claimed when the writer must not go on; from then on it commits nothing.
    private let halted = OnceFlag()

    /// Connects (`open`), takes the hub lock and runs `prepare` (migrations) on the new session; throws
    /// `PostgresHubLock.HeldElsewhere` when another hub serves the database, or the connection's error.
    public init(open: @escaping @Sendable () throws -> any SQLDatabase,
                lock: PostgresHubLock.Mode = .alone,
                prepare: @escaping @Sendable (any SQLDatabase) throws -> Void = { _ in },
                failStop: @escaping @Sendable (String) -> Void = PostgresStorageOptions.stopProcess) throws {
        let statistics = self.statistics
        let halted = self.halted
        thread = try ConnectionThread(name: "bankhub-pg-writer", batchJobsMax: Self.batchJobsMax, open: {
            let session = PostgresWriterSession(open: open, lock: lock, prepare: { db in
                try prepare(db)
                try db.execute(PostgresWriterSession.probeTableSQL)
            })
            _ = try session.connected()
            return session
        }, process: { session, jobs in
            guard !halted.isClaimed else {
                Self.answer(jobs, BankError(.unavailable, "the database writer has stopped; the operation did not happen"))
                return
            }
            let started = DispatchTime.now().uptimeNanoseconds
            switch Self.run(jobs, session) {
            case .committed(let results):
                statistics.record(batchSize: jobs.count,
                                  durationNanoseconds: DispatchTime.now().uptimeNanoseconds - started)
                for (job, result) in zip(jobs, results) { job.completion(result) }
            case .failed(let error, let cause, let dropConnection):
                if dropConnection { session.drop() }
                statistics.recordFailure(cause)
                for job in jobs { job.completion(.failure(error)) }
            case .mustStop(let reason, let error):
                session.drop()
                statistics.recordFailure(reason)
                _ = halted.claim()
                Self.answer(jobs, error)
                failStop(reason)
            case .notBegun:
                preconditionFailure("run(_:_:) answers a batch that did not begin as unconnected")
            }
        })
    }

    /// Runs one batch. A connection that broke while idle (the server restarted) is only found out by the
    /// batch's BEGIN: that batch runs again once on a new connection, so the first writes after the database is
    /// back are not refused; a batch that cannot begin on a new connection either is `unconnected`.
    private static func run(_ jobs: [Job], _ session: PostgresWriterSession) -> PostgresBatch.Outcome {
        var fresh = session.database == nil
        while true {
            let outcome: PostgresBatch.Outcome
            do {
                outcome = PostgresBatch.run(jobs, on: try session.connected())
            } catch {
                return unconnected(jobs, error)
            }
            guard case .notBegun(let cause) = outcome else { return outcome }
            session.drop()
            if fresh { return unconnected(jobs, cause) }
            fresh = true
        }
    }

    /// The batch could not even start: no connection (the database is down), or the new session found the hub
    /// lock taken (another hub serves the database now: this one's memory is no longer the authority).
    private static func unconnected(_ jobs: [Job], _ error: any Error) -> PostgresBatch.Outcome {
        let failure = BankError(.unavailable, "the database cannot be reached; " + PostgresBatch.notHappened)
        if error is PostgresHubLock.HeldElsewhere {
            return .mustStop(reason: "reconnected, and \(error)", error: failure)
        }
        if jobs.contains(where: { $0.isolation == .ledger }) {
            return .mustStop(reason: "a batch of ledger writes found no database (\(error)); stopping so memory "
                             + "and the database never disagree", error: failure)
        }
        return .failed(failure, cause: error, dropConnection: true)
    }

    /// Fails the general jobs; ledger jobs get no answer (their change is in memory only; the process stops).
    private static func answer(_ jobs: [Job], _ error: BankError) {
        for job in jobs where job.isolation == .savepoint { job.completion(.failure(error)) }
    }

    public func submit(_ isolation: WriteIsolation, balances: [BalanceWrite],
                       _ body: @escaping @Sendable (any SQLDatabase) throws -> Void,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        thread.submit(Job(isolation: isolation, body: body, balances: balances, completion: completion))
    }

    /// Upserts the one row of `hub_probe`: a real write, in a real commit.
    public func probe(_ counter: Int64, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        submit(.savepoint, { db in try db.prepare(PostgresWriterSession.probeSQL).run(counter) }, completion: completion)
    }

    public var queuedJobs: Int { thread.queuedCount }
    public var commits: (count: Int, jobs: Int) { statistics.snapshot }
    public var failures: (count: Int, last: String?) { statistics.failures }
    public var isHalted: Bool { halted.isClaimed }

    public func observeCommits(_ observer: @escaping @Sendable (CommitSample) -> Void) {
        statistics.observe(observer)
    }

    /// Commits what is queued, runs its completions and closes the connection (releasing the hub lock).
    public func close() {
        thread.stop()
    }
}

/// Commits, the jobs they carried and the failed batches (the last reason, never bound values); passes each
/// commit to an observer (the hub's metrics).
final class PostgresWriterStatistics: Sendable {
    private let counts = Mutex<(count: Int, jobs: Int)>((0, 0))
    private let observer = Mutex<Observer?>(nil)
    private let failed = Mutex<(count: Int, last: String?)>((0, nil))

    /// Boxed: a bare closure in a `Mutex` is re-abstracted on every access (see BankStore's WriterStatistics).
    private struct Observer: Sendable {
        let call: @Sendable (CommitSample) -> Void
    }

    func record(batchSize: Int, durationNanoseconds: UInt64) {
        precondition(batchSize > 0, "a commit carries at least one job")
        counts.withLock { $0 = ($0.count + 1, $0.jobs + batchSize) }
        observer.withLock { $0 }?.call(CommitSample(batchSize: batchSize, durationNanoseconds: durationNanoseconds))
    }

    func observe(_ call: @escaping @Sendable (CommitSample) -> Void) { observer.withLock { $0 = Observer(call: call) } }
    func recordFailure(_ cause: Any) { failed.withLock { $0 = ($0.count + 1, "\(cause)") } }
    var snapshot: (count: Int, jobs: Int) { counts.withLock { $0 } }
    var failures: (count: Int, last: String?) { failed.withLock { $0 } }
}
