import Synchronization

/// How a write job's failure is contained.
public enum WriteIsolation: Sendable, Equatable {
    /// The job runs inside a SAVEPOINT; if it throws, only its own changes are rolled back and only it fails
    /// (unless the engine rolled the whole transaction back: then the whole batch fails).
    case savepoint
    /// Ledger writes: they mirror state already applied in memory and cannot fail for business reasons. If
    /// one throws, or their batch does not commit for any reason, the writer fail-stops so memory and disk never
    /// disagree; nothing unacknowledged is lost because nothing in the batch was acknowledged.
    case ledger
}

/// The one writer of a hub's database: every write goes through it, grouped (group commit), and each job's
/// completion runs only after the COMMIT that holds it is durable. SQLite's `DatabaseWriter` and
/// PostgreSQL's writer implement it; the hub does not know which one it has.
public protocol StorageWriter: AnyObject, Sendable {
    /// Queues `body` for the next commit; `completion` runs after that commit is durable (or with an error when
    /// the job or its batch could not commit). `balances` are written after every job of the commit ran, the
    /// last value per account winning.
    func submit(_ isolation: WriteIsolation, balances: [BalanceWrite],
                _ body: @escaping @Sendable (any SQLDatabase) throws -> Void,
                completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    /// One small real write (the readiness probe): it fails or stalls exactly when writes do.
    func probe(_ counter: Int64, completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    var queuedJobs: Int { get }
    /// Commits so far and the jobs they carried.
    var commits: (count: Int, jobs: Int) { get }
    /// Batches that did not commit, and why the last one did not.
    var failures: (count: Int, last: String?) { get }
    /// True once the writer stopped committing (fail-stop).
    var isHalted: Bool { get }
    /// Calls `observer` after every durable commit; it must be quick and never block. A second call replaces it.
    func observeCommits(_ observer: @escaping @Sendable (CommitSample) -> Void)
    /// Commits what is queued, runs its completions and closes the connection.
    func close()
}

extension StorageWriter {
    public func submit(_ isolation: WriteIsolation, _ body: @escaping @Sendable (any SQLDatabase) throws -> Void,
                       completion: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        submit(isolation, balances: [], body, completion: completion)
    }

    /// Runs `body` in the next commit and returns its result once durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let box = ResultBox<T>()
            submit(.savepoint, { connection in box.set(try body(connection)) }, completion: { result in
                continuation.resume(with: result.map { box.take() })
            })
        }
    }
}

/// Which readers a read runs on, so that no client's reads can stall everyone's sign-in: `general` serves
/// every read, `signIn` (a reader of its own) the reads of `login` and `auth`. The hub sets `current` around the
/// handling of those ops, so every read they make, however deep, stays off the general pool.
public enum ReadLane: Sendable {
    case general
    case signIn

    /// The lane of the reads made by the current task (and the tasks it creates).
    @TaskLocal public static var current: ReadLane = .general
}

/// Read-only connections of a hub's database, each on its own thread; a read sees one consistent snapshot of
/// committed state. Every read is bounded by the engine (SQLite: steps; PostgreSQL: statement time), past
/// which it fails with `unavailable` instead of holding its reader.
public protocol StorageReaders: AnyObject, Sendable {
    /// Runs `body` on a reader of `ReadLane.current` inside one read transaction.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T
    /// Reads queued and not yet started on a lane (for health and tests).
    func queuedReads(_ lane: ReadLane) -> Int
    func close()
}

/// One commit of the writer, as an observer of ``StorageWriter/observeCommits(_:)`` sees it.
public struct CommitSample: Sendable, Equatable {
    /// Jobs that shared the commit (1 up to the engine's batch limit).
    public let batchSize: Int
    /// From BEGIN to the end of COMMIT, in nanoseconds on a monotonic clock. On SQLite without the commit
    /// pipeline, and on PostgreSQL, the fsync is inside COMMIT and so included; with SQLite's pipeline, COMMIT only
    /// appends to the WAL.
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

/// Carries a value out of a job body into its completion; both run on the writer thread, one after the other.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)

    func set(_ newValue: T) { value.withLock { $0 = newValue } }

    func take() -> T {
        guard let taken = value.withLock({ $0 }) else { preconditionFailure("job completed without a value") }
        return taken
    }
}
