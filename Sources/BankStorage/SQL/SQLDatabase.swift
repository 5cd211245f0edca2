/// The seam between the stores and the database engines: one connection that runs parameterized SQL.
///
/// The records (`*Records`) are written once, in the SQL both engines understand, against this protocol;
/// SQLite (`BankStore.SQLiteConnection`) and PostgreSQL (`BankPostgres.PostgresSQLConnection`) implement it.
/// Parameters are `?` in order. A connection belongs to one thread at a time (the thread of the reader or
/// writer that owns it), so neither a connection nor its statements are `Sendable`.
public protocol SQLDatabase: AnyObject {
    associatedtype Statement: SQLStatement
    /// A statement for `sql` (engines may cache it by its text for the life of the connection).
    func prepare(_ sql: String) throws -> Statement
    /// Runs statements that return no rows and take no parameters.
    func execute(_ sql: String) throws
    /// Rows changed by the last statement that ran.
    var changes: Int { get }
}

/// A prepared statement of one `SQLDatabase`.
public protocol SQLStatement: AnyObject {
    /// Runs a statement that returns no rows (or whose rows are not wanted).
    func run(binding values: [any SQLBindable]) throws
    /// Runs a query and maps each row; a row is valid only inside `map`.
    func query<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> [T]
    /// Runs a query and maps its first row, if any.
    func queryOne<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> T?
}

extension SQLStatement {
    public func run(_ values: any SQLBindable...) throws { try run(binding: values) }

    @discardableResult
    public func query<T>(_ values: any SQLBindable..., row map: (any SQLRow) throws -> T) throws -> [T] {
        try query(binding: values, row: map)
    }

    public func queryOne<T>(_ values: any SQLBindable..., row map: (any SQLRow) throws -> T) throws -> T? {
        try queryOne(binding: values, row: map)
    }
}

/// The current row of a query. Columns count from 0; integers are 64-bit, text is UTF-8, blobs are bytes.
/// A boolean expression reads as an integer (1 or 0) on both engines.
public protocol SQLRow {
    func int64(_ column: Int32) -> Int64
    func isNull(_ column: Int32) -> Bool
    func string(_ column: Int32) -> String
    func blob(_ column: Int32) -> [UInt8]
}

extension SQLRow {
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
}

/// A value bound to a statement parameter.
public enum SQLValue: Sendable, Equatable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension Int64: SQLBindable { public var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Array: SQLBindable where Element == UInt8 { public var sqlValue: SQLValue { .blob(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// An engine's error, as much of it as the records need to know.
public protocol SQLDatabaseError: Error {
    /// A UNIQUE or PRIMARY KEY constraint refused the row.
    var isUniqueViolation: Bool { get }
}
