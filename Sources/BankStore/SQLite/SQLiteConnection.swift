import BankStorage
import CSQLite

/// An error from SQLite. Carries the SQL but never its bound values, so amounts and secrets stay out of logs.
public struct SQLiteError: SQLDatabaseError, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var description: String { "SQLite error \(code): \(message)" + (sql.map { " (\($0))" } ?? "") }

    /// A UNIQUE or PRIMARY KEY constraint failed.
    public var isUniqueViolation: Bool {
        code == bankhub_sqlite_constraint_unique || code == bankhub_sqlite_constraint_primarykey
    }
}

/// One SQLite connection. Not thread-safe: each connection is confined to one thread (the writer's, or one
/// reader's queue), and that confinement is what makes the raw handle safe to hold.
public final class SQLiteConnection: SQLDatabase {
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    let stepBudget = SQLiteStepBudget()
    let transactionRule = TransactionRule()
    /// While true, a statement refuses to run outside a transaction instead of committing on its own. The writer
    /// sets it for a batch: if SQLite rolled the batch's transaction back (disk full, I/O error), nothing a job
    /// runs afterwards may autocommit.
    var requiresTransaction: Bool {
        get { transactionRule.isRequired }
        set { transactionRule.isRequired = newValue }
    }

    public enum Mode: Sendable { case readWrite, readOnly }

    /// Opens `path`; `vfs` names a registered SQLite VFS to open it through (nil: SQLite's default, which is
    /// what the hub uses; fault-injection tests pass theirs).
    public init(path: String, mode: Mode, vfs: String? = nil) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (mode == .readWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, vfs)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        handle = db
        sqlite3_busy_timeout(db, 5_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows (schema, pragmas, BEGIN/COMMIT).
    public func execute(_ sql: String) throws(SQLiteError) {
        try checkTransaction(sql)
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard rc == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement, cached by its SQL text for the life of the connection.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try SQLiteStatement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Whether a transaction is open. SQLite itself rolls a whole transaction back on some errors (SQLITE_FULL,
    /// SQLITE_IOERR, SQLITE_NOMEM), after which this is false even though no ROLLBACK was run.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    func checkTransaction(_ sql: String) throws(SQLiteError) {
        try transactionRule.check(handle, sql)
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var changes: Int { Int(sqlite3_changes(handle)) }

    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// Whether statements of one connection must run inside a transaction (`SQLiteConnection.requiresTransaction`).
/// Shared by the connection and its statements, which may outlive the connection object.
final class TransactionRule {
    var isRequired = false

    /// Throws instead of letting `sql` run in autocommit mode on `db` while a transaction is required.
    func check(_ db: OpaquePointer, _ sql: String) throws(SQLiteError) {
        guard isRequired, sqlite3_get_autocommit(db) != 0 else { return }
        throw SQLiteError(code: SQLITE_MISUSE, message: "no transaction is open (SQLite rolled it back); refusing to autocommit",
                          sql: sql)
    }
}
