import Synchronization

/// A small pool of read-only connections, each on its own thread. In WAL mode they read the last committed
/// state while the writer commits.
public final class DatabaseReaders: Sendable {
    typealias Job = @Sendable (SQLiteConnection) -> Void

    private let threads: [ConnectionThread<Job>]
    private let next = Atomic<Int>(0)

    public init(path: String, count: Int = 2) throws {
        precondition(count >= 1, "at least one reader")
        threads = try (0..<count).map { index in
            try ConnectionThread<Job>(name: "bankhub-reader-\(index)", batchJobsMax: 64, open: {
                let connection = try SQLiteConnection(path: path, mode: .readOnly)
                try connection.execute("PRAGMA query_only = ON")
                return connection
            }, process: { connection, jobs in
                for job in jobs { job(connection) }
            })
        }
    }

    /// Runs `body` on a reader connection inside one read transaction (a consistent snapshot).
    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue % threads.count
        return try await withCheckedThrowingContinuation { continuation in
            threads[index].submit { connection in
                continuation.resume(with: Result {
                    try connection.execute("BEGIN")
                    defer { try? connection.execute("COMMIT") }
                    return try body(connection)
                })
            }
        }
    }

    public func close() {
        for thread in threads { thread.stop() }
    }
}
