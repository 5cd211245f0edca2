import BankCore
import BankStorage
import DedicatedThreads
import Synchronization

/// Read-only sessions of a hub's PostgreSQL database, each on a thread of its own: a small `general` pool
/// (round robin) and one `signIn` reader, chosen by `ReadLane.current` as with SQLite's `DatabaseReaders`.
/// Each read is one `REPEATABLE READ READ ONLY` transaction (one snapshot of committed state), and each of its
/// statements is bounded by `statement_timeout`, past which the read fails with `unavailable`.
public final class PostgresReaders: StorageReaders {
    typealias Job = @Sendable (PostgresReaderSession) -> Void

    /// Reads queued on one reader thread before it drains them (per wake-up).
    static let batchJobsMax = 64

    private let general: [ConnectionThread<PostgresReaderSession, Job>]
    private let signIn: ConnectionThread<PostgresReaderSession, Job>
    private let next = Atomic<Int>(0)

    /// Connects every reader now, so a hub that cannot read does not start.
    public init(open: @escaping @Sendable () throws -> any SQLDatabase, options: PostgresStorageOptions) throws {
        let timeout = options.readStatementMillisecondsMax
        func thread(_ name: String) throws -> ConnectionThread<PostgresReaderSession, Job> {
            try ConnectionThread(name: name, batchJobsMax: Self.batchJobsMax, open: {
                let session = PostgresReaderSession(open: open, statementMillisecondsMax: timeout)
                _ = try session.connected()
                return session
            }, process: { session, jobs in
                for job in jobs { job(session) }
            })
        }
        general = try (0..<options.generalReadersCount).map { try thread("bankhub-pg-reader-\($0)") }
        signIn = try thread("bankhub-pg-reader-signin")
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        let thread = switch ReadLane.current {
        case .general: general[next.wrappingAdd(1, ordering: .relaxed).oldValue % general.count]
        case .signIn: signIn
        }
        return try await withCheckedThrowingContinuation { continuation in
            thread.submit { session in
                continuation.resume(with: Result { try session.read(body) })
            }
        }
    }

    public func queuedReads(_ lane: ReadLane) -> Int {
        switch lane {
        case .general: general.reduce(0) { $0 + $1.queuedCount }
        case .signIn: signIn.queuedCount
        }
    }

    /// `db` made a reader's session (read only, statements bounded), for a worker that reads on its own thread.
    public static func readOnlySession(_ db: any SQLDatabase, options: PostgresStorageOptions) throws -> any SQLDatabase {
        try PostgresReaderSession.readOnly(db, statementMillisecondsMax: options.readStatementMillisecondsMax)
    }

    public func close() {
        for thread in general { thread.stop() }
        signIn.stop()
    }
}

/// One reader's session, on its thread only; connects again after a lost connection.
final class PostgresReaderSession {
    private let open: @Sendable () throws -> any SQLDatabase
    private let statementMillisecondsMax: Int
    private var database: (any SQLDatabase)?

    init(open: @escaping @Sendable () throws -> any SQLDatabase, statementMillisecondsMax: Int) {
        self.open = open
        self.statementMillisecondsMax = statementMillisecondsMax
    }

    func connected() throws -> any SQLDatabase {
        if let database { return database }
        let fresh = try Self.readOnly(open(), statementMillisecondsMax: statementMillisecondsMax)
        database = fresh
        return fresh
    }

    /// A session that cannot write and whose statements stop after `statementMillisecondsMax`.
    static func readOnly(_ db: any SQLDatabase, statementMillisecondsMax: Int) throws -> any SQLDatabase {
        try db.execute("SET default_transaction_read_only = on")
        try db.execute("SET statement_timeout = \(statementMillisecondsMax)")
        return db
    }

    /// Runs `body` in one read-only snapshot. A connection that broke while idle (the server restarted) fails
    /// on its first use: the read then runs once more on a new connection, so the first read after the database
    /// is back is answered (a read changes nothing, so running it again is safe). A read on a connection made
    /// for it fails at once: a server that is down costs one connection attempt.
    func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        let reused = database != nil
        do {
            return try snapshot(body)
        } catch where reused && error.isConnectionLoss {
            database = nil
            do {
                return try snapshot(body)
            } catch {
                throw translated(error)
            }
        } catch {
            throw translated(error)
        }
    }

    /// One `REPEATABLE READ READ ONLY` transaction around `body`; errors as they came.
    private func snapshot<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        let db = try connected()
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let value = try body(db)
            try db.execute("COMMIT")
            return value
        } catch {
            if !error.isConnectionLoss { try? db.execute("ROLLBACK") }
            throw error
        }
    }

    /// A timeout is the client's "narrow it"; a lost connection is `unavailable` and the next read reconnects.
    private func translated(_ error: any Error) -> any Error {
        guard let storage = error as? PostgresError else { return error }
        if storage.sqlState == "57014" {
            return BankError(.unavailable, "query too expensive (longer than \(statementMillisecondsMax) ms); narrow it")
        }
        if storage.kind == .connectionLost {
            database = nil
            return storage.bankError
        }
        return error
    }
}

@available(*, unavailable, message: "a reader's session stays on its thread")
extension PostgresReaderSession: Sendable {}
