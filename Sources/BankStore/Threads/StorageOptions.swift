import Foundation

/// How the hub's database is opened and guarded. The defaults are production's; `vfs` and `failStop` are
/// seams for the fault-injection tests (Tests/BankHubTests/FaultInjectionTests.swift).
public struct StorageOptions: Sendable {
    /// What the writer does when it must not go on: a batch with ledger writes did not commit (memory is
    /// ahead of disk), or what reached the disk is unknown (an fsync failed). It gets the reason. Once it
    /// returns (tests only), the writer is halted: it commits nothing more, fails every later general job with
    /// `unavailable`, never completes a later ledger job, and answers the general jobs of a batch whose outcome
    /// is unknown with `unavailable` "whether the operation happened is unknown".
    public typealias FailStop = @Sendable (String) -> Void

    /// Production: stop the process. Nothing in the failed batch was acknowledged, and a restart reloads the
    /// ledger from disk, so memory and disk never disagree.
    public static let stopProcess: FailStop = { reason in fatalError("stopping: \(reason)") }

    /// The SQLite VFS the writer's connection opens the database through; nil for SQLite's default.
    public var vfs: String?
    public var failStop: FailStop
    /// SQLite virtual-machine steps one read on `DatabaseReaders` may take; past it the read fails with
    /// `unavailable` ("query too expensive; narrow it"). About 14 million steps take a second on the
    /// reference machine, so the default bounds a read at well under a second of a reader's time.
    public var readStepsMax: Int

    /// Pipelined group commit (see `WALSyncer`): COMMIT appends to the WAL without syncing and a syncer thread
    /// fsyncs it and then releases the completions, while the writer commits the next batch. Off: every COMMIT
    /// fsyncs itself (`synchronous=FULL`), one batch at a time (kept for A/B measurements and tests).
    public var commitPipeline: Bool
    /// A commit that finds no job queued behind it and nothing handed over still unanswered is fsynced and
    /// answered on the writer thread itself, instead of going through the syncer and the completion thread:
    /// at low rates most commits are alone, and each hand-off is a thread wake-up and a context switch (see
    /// docs/performance.md). Under load (jobs queued) the pipeline's hand-offs run as before. Off: every
    /// commit is handed over (kept for A/B measurements, and for the tests that hold the syncer's fsync).
    public var idleCommitsInline: Bool
    /// Tests only: runs right before each WAL fsync, on the thread that runs it (a test blocks in it to hold the
    /// fsync).
    public var beforeWALSync: (@Sendable () -> Void)?

    public static let readStepsMaxDefault = 10_000_000

    /// The pipeline's default: on, unless the environment variable `BANKHUB_COMMIT_PIPELINE` is `off` (for A/B
    /// measurements of the same binary with `bankhub-bench`, whose hub child inherits the environment).
    public static let commitPipelineDefault = ProcessInfo.processInfo.environment["BANKHUB_COMMIT_PIPELINE"] != "off"
    /// `idleCommitsInline`'s default: on, unless `BANKHUB_IDLE_COMMITS_INLINE` is `off` (A/B measurements).
    public static let idleCommitsInlineDefault = ProcessInfo.processInfo.environment["BANKHUB_IDLE_COMMITS_INLINE"] != "off"

    public init(vfs: String? = nil, failStop: @escaping FailStop = StorageOptions.stopProcess,
                readStepsMax: Int = StorageOptions.readStepsMaxDefault,
                commitPipeline: Bool = StorageOptions.commitPipelineDefault,
                idleCommitsInline: Bool = StorageOptions.idleCommitsInlineDefault,
                beforeWALSync: (@Sendable () -> Void)? = nil) {
        self.vfs = vfs
        self.failStop = failStop
        self.readStepsMax = readStepsMax
        self.commitPipeline = commitPipeline
        self.idleCommitsInline = idleCommitsInline
        self.beforeWALSync = beforeWALSync
    }
}
