import BankCore
import BankStorage
import DedicatedThreads
import Synchronization

/// Read-only connections, each on its own thread. In WAL mode they read the last committed state while the
/// writer commits.
///
/// Two lanes, so that no client's reads can stall everyone's sign-in: `general` (a small pool, round robin)
/// serves every read, `signIn` (one reader of its own) serves the reads of `login` and `auth` (users,
/// sessions, the login history). Which lane a read takes comes from the task-local `ReadLane.current`,
/// which the hub sets around the handling of those ops, so every read they make, however deep, stays off
/// the general pool. Every read is bounded: at most `readStepsMax` SQLite steps (`SQLiteStepBudget`), past
/// which it fails with `unavailable` instead of holding its reader.
public final class DatabaseReaders: StorageReaders {
    typealias Job = @Sendable (SQLiteConnection) -> Void

    /// Reads queued on one connection thread before it drains them (per wake-up).
    static let batchJobsMax = 64

    private let general: [ConnectionThread<SQLiteConnection, Job>]
    private let signIn: ConnectionThread<SQLiteConnection, Job>
    private let next = Atomic<Int>(0)
    let readStepsMax: Int

    /// `count` general readers plus one sign-in reader.
    public init(path: String, count: Int = 2, readStepsMax: Int = StorageOptions.readStepsMaxDefault) throws {
        precondition(count >= 1, "at least one general reader")
        precondition(readStepsMax >= Int(SQLiteStepBudget.stepsPerCheck), "a read may take some steps")
        self.readStepsMax = readStepsMax
        general = try (0..<count).map { index in try Self.thread(name: "bankhub-reader-\(index)", path: path) }
        signIn = try Self.thread(name: "bankhub-reader-signin", path: path)
    }

    private static func thread(name: String, path: String) throws -> ConnectionThread<SQLiteConnection, Job> {
        try ConnectionThread<SQLiteConnection, Job>(name: name, batchJobsMax: batchJobsMax, open: {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            try connection.execute("PRAGMA query_only = ON")
            return connection
        }, process: { connection, jobs in
            for job in jobs { job(connection) }
        })
    }

    /// Runs `body` on a reader of the current `ReadLane` inside one read transaction (a consistent snapshot),
    /// within `readStepsMax` SQLite steps; past them it throws `unavailable` ("query too expensive").
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        let thread = switch ReadLane.current {
        case .general: general[next.wrappingAdd(1, ordering: .relaxed).oldValue % general.count]
        case .signIn: signIn
        }
        let stepsMax = readStepsMax
        return try await withCheckedThrowingContinuation { continuation in
            thread.submit { connection in
                continuation.resume(with: Result {
                    try connection.execute("BEGIN")
                    defer { try? connection.execute("COMMIT") }
                    do {
                        return try connection.withStepBudget(stepsMax) { try body(connection) }
                    } catch is SQLiteStepBudgetExceeded {
                        throw BankError(.unavailable, "query too expensive (more than \(stepsMax) SQLite steps); "
                                        + "narrow it")
                    }
                })
            }
        }
    }

    /// Reads queued and not yet started on a lane (for health and tests).
    public func queuedReads(_ lane: ReadLane) -> Int {
        switch lane {
        case .general: general.reduce(0) { $0 + $1.queuedCount }
        case .signIn: signIn.queuedCount
        }
    }

    public func close() {
        for thread in general { thread.stop() }
        signIn.stop()
    }
}
