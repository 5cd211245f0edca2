import BankStorage
import CSQLite

/// A prepared statement owned by one connection (and so by one thread).
///
/// It does not reference its `SQLiteConnection` object: a caller may let the connection go while still using a
/// statement it prepared (`SQLiteConnection(...).prepare(...).query(...)`); SQLite keeps the handle alive
/// (`sqlite3_close_v2`) until the last statement is finalized, so the statement reaches it through
/// `sqlite3_db_handle`, and shares only the connection's small `TransactionRule`.
public final class SQLiteStatement: SQLStatement {
    private let statement: OpaquePointer
    private let rule: TransactionRule
    let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        var prepared: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard rc == SQLITE_OK, let prepared else { throw connection.error(rc, sql: sql) }
        self.statement = prepared
        self.rule = connection.transactionRule
        self.sql = sql
    }

    /// The error `rc` with SQLite's message for this statement's connection.
    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: sql)
    }

    deinit { sqlite3_finalize(statement) }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// Binds parameters by position (1-based in SQLite; here in order).
    @discardableResult
    public func bind(_ values: [any SQLBindable]) throws(SQLiteError) -> SQLiteStatement {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value.sqlValue {
            case .integer(let number): rc = sqlite3_bind_int64(statement, index, number)
            case .text(let text): rc = sqlite3_bind_text(statement, index, text, -1, bankhub_sqlite_transient())
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), bankhub_sqlite_transient())
                }
            case .null: rc = sqlite3_bind_null(statement, index)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        return self
    }

    /// Runs a statement that returns no rows.
    public func run(binding values: [any SQLBindable]) throws(SQLiteError) {
        try rule.check(sqlite3_db_handle(statement), sql)
        try bind(values)
        let rc = sqlite3_step(statement)
        defer { sqlite3_reset(statement) }
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw error(rc) }
    }

    /// Runs a query and maps each row.
    public func query<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> [T] {
        try rule.check(sqlite3_db_handle(statement), sql)
        try bind(values)
        defer { sqlite3_reset(statement) }
        var results: [T] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return results }
            guard rc == SQLITE_ROW else { throw error(rc) }
            results.append(try map(SQLiteRow(statement: statement)))
        }
    }

    /// Runs a query returning at most one row.
    public func queryOne<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> T? {
        try rule.check(sqlite3_db_handle(statement), sql)
        try bind(values)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw error(rc) }
        let value = try map(SQLiteRow(statement: statement))
        // Step once more so that an error of the statement is not lost in the reset: an INSERT ... RETURNING
        // reports a failed write (a full disk) after its row.
        let next = sqlite3_step(statement)
        guard next == SQLITE_DONE || next == SQLITE_ROW else { throw error(next) }
        return value
    }
}

/// The current row of a stepping statement; valid only inside the `row` closure.
public struct SQLiteRow: SQLRow {
    let statement: OpaquePointer

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: text)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let base = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}
