import BankCore
import BankStorage
import DedicatedThreads
import Glibc

/// The ledger with PostgreSQL as its authority, for several hubs on one database: every money operation is
/// checked and applied inside a PostgreSQL transaction (`LedgerBatch`), and nothing about balances is kept in
/// memory between batches. One instance is one hub's ledger connection, on a thread of its own.
///
/// Operations from many callers queue up and are committed together: the thread takes what is queued and runs
/// it as one transaction of at most `operationsPerTransactionMax` operations (group commit, one WAL flush).
/// A lost connection makes the operations in flight fail with `unavailable` (never half-applied: a batch is one
/// transaction) and is re-established by the next batch, so the ledger recovers by itself once the server is back.
public final class PostgresLedger: Sendable {
    /// A batch that lost a serialization or deadlock race is run again at most this many times.
    public static let raceRetriesMax = 3

    private enum Job: Sendable {
        /// Operations to apply now (`at` nil), or at a given time in a transaction of their own.
        case money([LedgerOperation], at: Timestamp?, @Sendable ([Result<LedgerOutcome, BankError>]) -> Void)
        case task(@Sendable (PostgresConnection) -> Void)
    }

    private let thread: ConnectionThread<PostgresConnection, Job>
    public let operationsPerTransactionMax: Int

    /// Connects (libpq connection string or URL), applies the schema's migrations, and starts the thread.
    /// Throws when the server cannot be reached now.
    public init(conninfo: String, operationsPerTransactionMax: Int = 512) throws(PostgresError) {
        precondition((1...10_000).contains(operationsPerTransactionMax), "1 to 10,000 operations per transaction")
        self.operationsPerTransactionMax = operationsPerTransactionMax
        thread = try ConnectionThread(name: "postgres-ledger", batchJobsMax: 256, open: { () throws(PostgresError) in
            let connection = try PostgresConnection(conninfo: conninfo)
            try PostgresSchema.migrate(connection)
            return connection
        }, process: { [operationsPerTransactionMax] connection, jobs in
            Self.process(jobs, on: connection, operationsMax: operationsPerTransactionMax)
        })
    }

    /// Checks and applies `operations` in order, committed in one transaction (with whatever else is queued);
    /// returns once COMMIT returned, one result per operation. A rejected operation fails alone. `at` backdates
    /// them (see `submit`).
    public func apply(_ operations: [LedgerOperation], at: Timestamp? = nil) async -> [Result<LedgerOutcome, BankError>] {
        precondition(operations.count <= operationsPerTransactionMax, "at most operationsPerTransactionMax at once")
        guard !operations.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            submit(operations, at: at) { continuation.resume(returning: $0) }
        }
    }

    /// As `apply`, but queues `operations` now, before returning: operations submitted one after another are
    /// applied in that order. `completion` runs on the ledger's thread right after COMMIT (in commit order).
    /// With `at`, their transactions, postings, events and key claims carry that time instead of now (demo
    /// seeding and history in tests, as the lone hub's `submit(at:)`): they commit in a transaction of their
    /// own, since one batch has one time.
    public func submit(_ operations: [LedgerOperation], at: Timestamp? = nil,
                       completion: @escaping @Sendable ([Result<LedgerOutcome, BankError>]) -> Void) {
        precondition(operations.count <= operationsPerTransactionMax, "at most operationsPerTransactionMax at once")
        guard !operations.isEmpty else { return completion([]) }
        thread.submit(.money(operations, at: at, completion))
    }

    /// Runs `body` on the ledger's connection, between batches.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws(PostgresError) -> T) async throws(PostgresError) -> T {
        let result: Result<T, PostgresError> = await withCheckedContinuation { continuation in
            thread.submit(.task { connection in
                if !connection.isConnected { try? connection.reconnect() }
                do throws(PostgresError) {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            })
        }
        return try result.get()
    }

    /// Finishes what is queued and closes the connection.
    public func close() {
        thread.stop()
    }

    /// Runs the jobs taken together: consecutive money jobs of the present share transactions of at most
    /// `operationsMax`; a backdated one commits alone, in its place in the order.
    private static func process(_ jobs: [Job], on connection: PostgresConnection, operationsMax: Int) {
        var group: [([LedgerOperation], @Sendable ([Result<LedgerOutcome, BankError>]) -> Void)] = []
        var count = 0
        func flush() {
            guard !group.isEmpty else { return }
            let results = commit(group.flatMap(\.0), at: now(), on: connection)
            var offset = 0
            for (operations, completion) in group {
                completion(Array(results[offset..<offset + operations.count]))
                offset += operations.count
            }
            precondition(offset == results.count, "one result per operation")
            group.removeAll()
            count = 0
        }
        for job in jobs {
            switch job {
            case .money(let operations, at: let at?, let completion):
                flush()
                completion(commit(operations, at: at, on: connection))
            case .money(let operations, at: nil, let completion):
                if count + operations.count > operationsMax { flush() }
                group.append((operations, completion))
                count += operations.count
            case .task(let body):
                flush()
                body(connection)
            }
        }
        flush()
    }

    /// One batch, run again after a lost race or once after a reconnect; every operation fails with
    /// `unavailable` when the database stays out of reach.
    private static func commit(_ operations: [LedgerOperation], at: Timestamp,
                               on connection: PostgresConnection) -> [Result<LedgerOutcome, BankError>] {
        let result = retrying(on: connection) { () throws(LedgerBatch.Failure) in
            try LedgerBatch(operations: operations, at: at).run(on: connection)
        }
        switch result {
        case .success(let results): return results
        case .failure(let error): return operations.map { _ in .failure(error) }
        }
    }

    /// Runs `attempt` (one transaction) again after a lost race (40001, 40P01: up to `raceRetriesMax` times) or
    /// once after a reconnect; a failure that stays is `unavailable` (or what the attempt refused with).
    static func retrying<T>(on connection: PostgresConnection,
                            _ attempt: () throws(LedgerBatch.Failure) -> T) -> Result<T, BankError> {
        var reconnected = false
        var races = 0
        while true {
            if !connection.isConnected {
                do {
                    try connection.reconnect()
                    reconnected = true
                } catch {
                    return .failure(error.bankError)
                }
            }
            do throws(LedgerBatch.Failure) {
                return .success(try attempt())
            } catch {
                switch error {
                case .failed(let cause) where cause.kind == .retryable && races < raceRetriesMax:
                    races += 1
                case .failed(let cause) where cause.kind == .connectionLost && !reconnected:
                    // Nothing was committed: a connection that broke while idle fails on its first use.
                    reconnected = true
                    if connection.isConnected { try? connection.reconnect() }
                case .failed(let cause):
                    return .failure(cause.bankError)
                case .refused(let error):
                    return .failure(error)
                case .commitUnknown:
                    return .failure(BankError(.unavailable, "the database connection was lost during COMMIT; whether "
                                              + "the operation happened is unknown: retry with the same idempotency_key",
                                              outcomeUnknown: true))
                }
            }
        }
    }

    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
