import BankCore
import BankStorage
import CSQLite

/// Runs one batch of writer jobs inside one transaction and says how it ended. Runs on the writer thread.
///
/// SQLite rolls a whole transaction back on its own after some errors (SQLITE_FULL, SQLITE_IOERR,
/// SQLITE_NOMEM), so a job's failure is not always contained by its savepoint: then every job before it is
/// undone too, and a job run afterwards would commit on its own (autocommit). So after each job the batch
/// checks that its transaction is still open, and while the batch runs the connection refuses to run any
/// statement outside a transaction (`SQLiteConnection.requiresTransaction`). A batch either commits whole or
/// leaves nothing on disk.
enum BatchCommit {
    enum Outcome {
        /// COMMIT returned: each job's own result, in job order.
        case committed([Result<Void, any Error>])
        /// Nothing of the batch reached the disk and the writer may go on: every job fails with `error`.
        /// `cause` is the storage error behind it.
        case failed(BankError, cause: any Error)
        /// The writer must not go on: a batch with ledger writes did not commit (memory is ahead of disk), or
        /// what reached the disk is unknown (an fsync failed). The ledger jobs are never completed. When the
        /// batch is known not to be on disk (`outcomeKnown`), the `.savepoint` jobs fail with `error` at once;
        /// when that is unknown (after a failed fsync the commit may still be found in the WAL at the next
        /// start, so "it did not happen" could be a lie), they get no answer before the process stops, like in
        /// a crash.
        case mustStop(reason: String, error: BankError, outcomeKnown: Bool)
    }

    static func run(_ jobs: [DatabaseWriter.Job], on connection: SQLiteConnection) -> Outcome {
        precondition(!jobs.isEmpty, "a batch has at least one job")
        precondition(!connection.isInTransaction, "a batch starts outside any transaction")
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            return abandon(jobs, connection, error)
        }
        connection.requiresTransaction = true
        defer { connection.requiresTransaction = false }
        var outcomes: [Result<Void, any Error>] = []
        outcomes.reserveCapacity(jobs.count)
        var balances = BatchBalances()
        for job in jobs {
            do {
                switch job.isolation {
                case .ledger:
                    try job.body(connection)
                    balances.record(job.balances)
                    outcomes.append(.success(()))
                case .savepoint:
                    // A general job may read balances: it sees those of the ledger jobs before it.
                    try balances.flush(connection)
                    outcomes.append(try runInSavepoint(job, connection))
                }
            } catch {
                return abandon(jobs, connection, error)
            }
            // A body that swallowed the error which ended the transaction returns normally: catch that here.
            guard connection.isInTransaction else {
                return abandon(jobs, connection, SQLiteError(code: SQLITE_ERROR, message: "the transaction ended inside a job",
                                                            sql: nil))
            }
        }
        do {
            try balances.flush(connection)
            try connection.execute("COMMIT")
        } catch {
            return abandon(jobs, connection, error)
        }
        precondition(!connection.isInTransaction, "COMMIT returned, so the transaction is over")
        return .committed(outcomes)
    }

    /// Runs a `.savepoint` job: its own failure rolls back only itself and is returned. Throws (failing the
    /// batch) when the transaction itself is gone or the savepoint cannot be rolled back.
    private static func runInSavepoint(_ job: DatabaseWriter.Job,
                                       _ connection: SQLiteConnection) throws -> Result<Void, any Error> {
        try connection.execute("SAVEPOINT job")
        do {
            try job.body(connection)
        } catch {
            // SQLite rolled the whole transaction back, or the file cannot be trusted: the batch fails with
            // this job's error.
            guard connection.isInTransaction else { throw error }
            if let storage = error as? SQLiteError, storage.leavesDiskUnknown { throw error }
            try connection.execute("ROLLBACK TO job; RELEASE job")
            // A storage error that undid only the statement (a full disk under an INSERT ... RETURNING, which
            // SQLite runs in a statement journal) is the client's `unavailable`, as when it undoes the batch.
            if let storage = error as? SQLiteError, storage.isTransient {
                return .failure(BankError(.unavailable, "storage failed (\(storage.storageProblem)); "
                                          + "the operation did not happen; try again later"))
            }
            return .failure(error)
        }
        try connection.execute("RELEASE job")
        return .success(())
    }

    /// Rolls the batch back (if SQLite has not already) and decides whether the writer may go on.
    private static func abandon(_ jobs: [DatabaseWriter.Job], _ connection: SQLiteConnection,
                                _ cause: any Error) -> Outcome {
        connection.requiresTransaction = false
        let storage = cause as? SQLiteError
        let failure = BankError(.unavailable, "storage failed (\(storage?.storageProblem ?? "a failed write")); "
                                + "the operation did not happen; try again later")
        if connection.isInTransaction {
            do {
                try connection.execute("ROLLBACK")
            } catch {
                return .mustStop(reason: "cannot roll back a failed batch (\(error)) after \(cause)", error: failure,
                                 outcomeKnown: false)
            }
        }
        precondition(!connection.isInTransaction, "the failed batch is rolled back")
        if storage?.leavesDiskUnknown == true {
            return .mustStop(reason: "what reached the disk is unknown after \(cause)",
                             error: BankError(.unavailable, "storage failed (\(storage?.storageProblem ?? "a failed write")); "
                                              + "whether the operation happened is unknown", outcomeUnknown: true),
                             outcomeKnown: false)
        }
        if jobs.contains(where: { $0.isolation == .ledger }) {
            return .mustStop(reason: "a batch of ledger writes did not commit (\(cause)); stopping so memory and "
                             + "disk never disagree", error: failure, outcomeKnown: true)
        }
        return .failed(failure, cause: cause)
    }
}
