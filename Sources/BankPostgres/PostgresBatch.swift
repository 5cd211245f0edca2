import BankCore
import BankStorage

/// Runs one batch of writer jobs inside one PostgreSQL transaction and says how it ended (the same rules as
/// SQLite's `BatchCommit`). Runs on the writer thread.
///
/// `.savepoint` jobs run in a SAVEPOINT each: a failing job rolls back only itself (PostgreSQL aborts the whole
/// transaction on any error, and ROLLBACK TO SAVEPOINT is what makes it usable again). `.ledger` jobs run
/// bare: if one fails, or their batch does not commit, the writer must stop. Balances are written once per
/// account, after the ledger jobs and before a savepoint job (which may read them).
///
/// Round trips: a job that succeeded keeps its savepoint until the next savepoint job, whose SAVEPOINT goes in
/// the same PQexec as the RELEASE (or until COMMIT, which releases it), so a savepoint job costs one round trip
/// besides its statements instead of two. Jobs that run meanwhile run inside it, which changes nothing: it is
/// released before anything could roll back to it. A batch whose transaction failed without an error reaching
/// here (a body that swallowed one) is caught by COMMIT, which the server then answers with ROLLBACK.
enum PostgresBatch {
    enum Outcome {
        /// COMMIT returned: each job's own result, in job order.
        case committed([Result<Void, any Error>])
        /// Nothing of the batch committed and the writer may go on: every job fails with `error`. When
        /// `dropConnection`, the session is lost or in an unknown state and the next batch connects again.
        case failed(BankError, cause: any Error, dropConnection: Bool)
        /// The writer must not go on: ledger writes did not commit, or whether they did is unknown.
        /// `.savepoint` jobs are answered with `error`; ledger jobs never are.
        case mustStop(reason: String, error: BankError)
        /// BEGIN found the connection lost: nothing of the batch reached the server, so it may run again as it
        /// is on a new connection (the writer does, once, when the lost one had served earlier batches).
        case notBegun(cause: any Error)
    }

    static let notHappened = "the operation did not happen; try again later"

    static func run(_ jobs: [PostgresWriter.Job], on db: any SQLDatabase) -> Outcome {
        precondition(!jobs.isEmpty, "a batch has at least one job")
        do {
            try db.execute("BEGIN")
        } catch {
            return error.isConnectionLoss ? .notBegun(cause: error) : abandon(jobs, db, error)
        }
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        var balances = PostgresBalances()
        var savepoint = Savepoint.none
        for job in jobs {
            do {
                switch job.isolation {
                case .ledger:
                    try job.body(db)
                    balances.record(job.balances)
                    outcomes.append(.success(()))
                case .savepoint:
                    try balances.flush(db)
                    outcomes.append(try runInSavepoint(job, db, &savepoint))
                }
            } catch {
                return abandon(jobs, db, error)
            }
        }
        do {
            try balances.flush(db)
        } catch {
            return abandon(jobs, db, error)
        }
        do {
            try commit(db)
        } catch {
            return commitFailed(jobs, error)
        }
        return .committed(outcomes)
    }

    /// Whether a savepoint named `job` is open: after a job that succeeded, until the next one releases it.
    enum Savepoint {
        case none
        case open
    }

    /// A `.savepoint` job: its own failure rolls back only itself and is returned. Releases the previous job's
    /// savepoint in the same round trip as it opens its own, and leaves its own open when it succeeds. Throws
    /// (failing the batch) when the connection is gone or a savepoint cannot be released or rolled back (also
    /// when an earlier body swallowed an error: RELEASE fails on an aborted transaction).
    private static func runInSavepoint(_ job: PostgresWriter.Job, _ db: any SQLDatabase,
                                       _ savepoint: inout Savepoint) throws -> Result<Void, any Error> {
        try db.execute(savepoint == .open ? "RELEASE SAVEPOINT job; SAVEPOINT job" : "SAVEPOINT job")
        savepoint = .open
        do {
            try job.body(db)
        } catch {
            if error.isConnectionLoss { throw error }
            try db.execute("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
            savepoint = .none
            if let storage = error as? PostgresError, storage.kind == .retryable {
                return .failure(BankError(.unavailable, "the database is busy; " + notHappened))
            }
            return .failure(error)
        }
        return .success(())
    }

    /// COMMIT, failing when the server rolled back instead (`PostgresConnection.commit`).
    private static func commit(_ db: any SQLDatabase) throws {
        guard let postgres = db as? PostgresSQLConnection else { preconditionFailure("the writer runs on PostgreSQL") }
        try postgres.connection.commit()
    }

    /// Before COMMIT: roll back (when the connection still works) and decide whether the writer may go on.
    private static func abandon(_ jobs: [PostgresWriter.Job], _ db: any SQLDatabase, _ cause: any Error) -> Outcome {
        var dropConnection = cause.isConnectionLoss
        if !dropConnection {
            do {
                try db.execute("ROLLBACK")
            } catch {
                dropConnection = true
            }
        }
        let failure = BankError(.unavailable, "storage failed (\(problem(cause))); " + notHappened)
        if jobs.contains(where: { $0.isolation == .ledger }) {
            return .mustStop(reason: "a batch of ledger writes did not commit (\(cause)); stopping so memory and "
                             + "the database never disagree", error: failure)
        }
        return .failed(failure, cause: cause, dropConnection: dropConnection)
    }

    /// COMMIT failed: refused (rolled back, nothing happened) or the connection dropped during it (unknown).
    private static func commitFailed(_ jobs: [PostgresWriter.Job], _ cause: any Error) -> Outcome {
        let hasLedger = jobs.contains(where: { $0.isolation == .ledger })
        guard cause.isConnectionLoss else {
            let failure = BankError(.unavailable, "storage failed (\(problem(cause))); " + notHappened)
            if hasLedger {
                return .mustStop(reason: "COMMIT of ledger writes failed (\(cause))", error: failure)
            }
            return .failed(failure, cause: cause, dropConnection: false)
        }
        let unknown = BankError(.unavailable, "the database connection dropped during COMMIT; whether the operation "
                                + "happened is unknown", outcomeUnknown: true)
        if hasLedger {
            return .mustStop(reason: "the connection dropped during the COMMIT of ledger writes (\(cause)); whether "
                             + "they are in the database is unknown", error: unknown)
        }
        return .failed(unknown, cause: cause, dropConnection: true)
    }

    /// What went wrong, without the SQL (clients see it).
    static func problem(_ cause: any Error) -> String {
        guard let storage = cause as? PostgresError else { return "a failed write" }
        return storage.kind == .connectionLost ? "the database cannot be reached"
                                               : "SQLSTATE \(storage.sqlState ?? "none")"
    }
}

/// The balances a commit writes: the last value per account wins (jobs run in ledger order), all of them in one
/// statement (one round trip however many accounts a flush holds, where an UPDATE per account cost one each).
struct PostgresBalances {
    private var latest: [AccountID: Money] = [:]

    mutating func record(_ writes: [BalanceWrite]) {
        for write in writes { latest[write.account] = write.balance }
    }

    /// Writes them and forgets them; false when there were none. The rows are locked in id order (the same lock
    /// order everywhere, see `updateSQL`).
    @discardableResult
    mutating func flush(_ db: any SQLDatabase) throws -> Bool {
        guard !latest.isEmpty else { return false }
        let sorted = latest.sorted(by: { $0.key < $1.key })
        try db.prepare(Self.updateSQL).run(PostgresArray.integers(sorted.map { $0.key.rawValue }),
                                           PostgresArray.integers(sorted.map { $0.value.cents }))
        precondition(db.changes == sorted.count, "a balance update must touch each of its accounts once")
        latest.removeAll(keepingCapacity: true)
        return true
    }

    /// Sets `balance` of each account in `?1` to the same position of `?2` (array literals). The subquery locks
    /// the rows in id order whatever plan joins it: it emits them sorted, each pass from the smallest, so the
    /// rows it has locked are always the first ones in id order, and the UPDATE writes only rows it locked.
    static let updateSQL = """
        UPDATE accounts AS a SET balance = b.balance
        FROM unnest(CAST(?1 AS bigint[]), CAST(?2 AS bigint[])) AS b(id, balance),
             (SELECT id FROM accounts WHERE id = ANY(CAST(?1 AS bigint[])) ORDER BY id FOR UPDATE) AS locked
        WHERE a.id = b.id AND a.id = locked.id
        """
}
