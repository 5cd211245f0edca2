import BankCore
import BankStorage
import CSQLite
import DedicatedThreads
import Foundation

/// The one writer of the database. Every write goes through it, grouped: all jobs queued while a commit is
/// under way share the next commit (group commit), so many operations pay for one fsync, and each job's
/// completion runs only after the fsync that made its COMMIT durable returned. With the commit pipeline
/// (`StorageOptions.commitPipeline`, the default) that fsync runs on the `WALSyncer`'s thread while this one
/// commits the next batch.
public final class DatabaseWriter: StorageWriter {
    public typealias Isolation = WriteIsolation

    public struct Job: Sendable {
        let isolation: Isolation
        let body: @Sendable (any SQLDatabase) throws -> Void
        /// Account balances this job leaves behind; written once per account per commit (see `BatchCommit`).
        let balances: [BalanceWrite]
        let completion: @Sendable (Result<Void, any Error>) -> Void
    }

    /// The largest number of jobs that share one commit.
    public static let batchJobsMax = 8_192
    /// WAL size (in pages) at which the writer checkpoints itself and the WAL starts over; the background
    /// checkpointer keeps the pages to copy at that point few.
    public static let walPagesMax = 16_384

    private let thread: ConnectionThread<SQLiteConnection, Job>
    private let checkpointer: WALCheckpointer
    private let completions: CompletionThread
    /// The pipeline's second stage (nil when `StorageOptions.commitPipeline` is off).
    private let syncer: WALSyncer?
    private let statistics = WriterStatistics()
    /// Claimed when the writer must not go on (see `StorageOptions.FailStop`); from then on it commits nothing.
    private let halted = OnceFlag()

    /// Opens (creating or migrating) the database at `path`. `options.vfs`, `options.failStop` and
    /// `options.beforeWALSync` are seams for fault-injection tests; the defaults are production's.
    public init(path: String, options: StorageOptions = StorageOptions()) throws {
        let statistics = self.statistics
        let halted = self.halted
        let vfs = options.vfs
        let checkpointer = WALCheckpointer(path: path)
        let completions = CompletionThread(name: "bankhub-completions")
        let walFile = WALFileSlot()
        let queued = LockedQueue<Job>()
        let syncer = options.commitPipeline ? Self.syncer(walFile, completions, queued, statistics, halted, options) : nil
        let delivery = CommitDelivery(completions: completions, syncer: syncer, queued: queued,
                                      idleCommitsInline: options.idleCommitsInline, statistics: statistics,
                                      checkpointer: checkpointer, halted: halted, failStop: options.failStop)
        self.checkpointer = checkpointer
        self.completions = completions
        self.syncer = syncer
        thread = try ConnectionThread(name: "bankhub-writer", batchJobsMax: Self.batchJobsMax, queue: queued, open: {
            let connection = try SQLiteConnection(path: path, mode: .readWrite, vfs: vfs)
            try Schema.migrate(connection)
            try connection.execute("PRAGMA wal_autocheckpoint = \(Self.walPagesMax)")
            if syncer != nil { walFile.set(try WALFile.open(connection)) }
            return connection
        }, beforeBatch: {
            syncer?.waitForRoom()
        }, finish: {
            // The connection closes after this: the syncer must be done with its WAL file first.
            syncer?.drain()
        }, process: { connection, jobs in
            guard !halted.isClaimed else {
                delivery.refuse(jobs)
                return
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let outcome = BatchCommit.run(jobs, on: connection)
            precondition(walFile.file.map { $0.isCurrent(for: connection) } ?? true,
                         "the syncer fsyncs the WAL file SQLite writes to")
            delivery.deliver(outcome, of: jobs, startedNanoseconds: started)
        })
        // Only now that the writer created and migrated the file (see `WALCheckpointer`).
        try checkpointer.start()
    }

    /// The syncer: fsyncs through the writer's WAL file, or does nothing when `WALFile.open` found the pipeline
    /// unsafe (then the writer's COMMITs stay at synchronous=FULL and were durable when they returned).
    private static func syncer(_ walFile: WALFileSlot, _ completions: CompletionThread, _ queued: LockedQueue<Job>,
                               _ statistics: WriterStatistics, _ halted: OnceFlag,
                               _ options: StorageOptions) -> WALSyncer {
        let failStop = options.failStop
        var writerIsIdle: (@Sendable () -> Bool)?
        if options.idleCommitsInline { writerIsIdle = { queued.count == 0 } }
        return WALSyncer(completions: completions, writerIsIdle: writerIsIdle,
                         gate: options.beforeWALSync, sync: {
            walFile.file?.sync() ?? SQLITE_OK
        }, fail: { reason in
            statistics.recordFailure(reason)
            _ = halted.claim()
            failStop(reason)
        })
    }

    /// Queues `body` for the next commit; `completion` runs after that commit is durable (or with `unavailable`
    /// when the batch could not commit): on the completion thread, or on the writer's or syncer's own when the
    /// commit found nothing queued behind it (`StorageOptions.idleCommitsInline`). It must be quick and never
    /// block (it holds up the next commit) — hand anything longer to another thread.
    /// `balances` are written after every job of the commit ran, the last value per account winning.
    public func submit(_ isolation: Isolation, balances: [BalanceWrite],
                       _ body: @escaping @Sendable (any SQLDatabase) throws -> Void,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        thread.submit(Job(isolation: isolation, body: body, balances: balances, completion: completion))
    }

    /// Sets `PRAGMA user_version`, which no migration uses, to `counter`: a real write of the file's header.
    public func probe(_ counter: Int64, completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        submit(.savepoint, { db in try db.execute("PRAGMA user_version = \(counter % Int64(Int32.max))") },
               completion: completion)
    }

    public var queuedJobs: Int { thread.queuedCount }
    public var commits: (count: Int, jobs: Int) { statistics.snapshot }
    /// Batches that did not commit, and why the last one did not.
    public var failures: (count: Int, last: String?) { statistics.failures }
    /// True once the writer stopped committing (see `StorageOptions.FailStop`).
    public var isHalted: Bool { halted.isClaimed }

    /// Calls `observer` after every commit is durable (on the writer thread, or the syncer's with the pipeline)
    /// with its batch size, duration and fsync duration; it must be quick and never block. A second call replaces the first observer.
    public func observeCommits(_ observer: @escaping @Sendable (CommitSample) -> Void) {
        statistics.observe(observer)
    }

    /// Commits what is queued, waits for its fsync, runs its completions and closes the connection.
    public func close() {
        thread.stop()
        syncer?.stop()
        completions.stop()
        checkpointer.stop()
    }

    /// Checkpoints of the background checkpointer that found WAL frames in the database file (tests, health).
    var checkpointsEffectiveCount: Int { checkpointer.checkpointsEffectiveCount }
}

