import BankStorage

/// The records' `SQLDatabase` on PostgreSQL: the same `*Records` functions that run on SQLite run here.
///
/// `prepare` rewrites SQLite's parameters (`?` in order, `?NNN` by number) to `$n`, once per SQL text (cached
/// for the life of the connection). Statements run prepared (`PostgresConnection.query(text:…)`: parsed once per
/// server session, at most `PostgresConnection.preparedStatementsDefaultMax` per session) with a type per value:
/// int8 for integers, text, bytea for blobs, and "let the server infer" for NULL (a text run once with a NULL and
/// once with a value there is prepared twice, so each runs as it would unprepared). Results are text: see
/// `PostgresSQLRow` for how they read back as SQLite's values.
/// Like its `PostgresConnection`, it stays on one thread.
public final class PostgresSQLConnection: SQLDatabase {
    public let connection: PostgresConnection
    /// Statements by their SQLite-style text; bounded by the finite set of SQL texts in the records.
    private var statements: [String: PostgresSQLStatement] = [:]
    /// Rows the last statement run through this connection changed, shared with its statements.
    private let lastChanges = ChangeCount()
    public var changes: Int { lastChanges.value }

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Connects with a libpq connection string or `postgresql://` URL.
    public convenience init(conninfo: String) throws(PostgresError) {
        self.init(try PostgresConnection(conninfo: conninfo))
    }

    public func prepare(_ sql: String) throws(PostgresError) -> PostgresSQLStatement {
        if let cached = statements[sql] { return cached }
        let statement = PostgresSQLStatement(connection: connection, changes: lastChanges,
                                             sql: PostgresParameters.rewrite(sql))
        statements[sql] = statement
        return statement
    }

    public func execute(_ sql: String) throws(PostgresError) {
        try connection.execute(sql)
        lastChanges.value = 0
    }
}

@available(*, unavailable, message: "a libpq connection stays on its thread")
extension PostgresSQLConnection: Sendable {}

/// The affected-row count of the last statement, a box so that statements need not reference their
/// `PostgresSQLConnection` (which caches them): a statement may outlive the object that prepared it.
final class ChangeCount {
    var value = 0
}

extension PostgresError: SQLDatabaseError {
    /// SQLSTATE 23505 (unique_violation): a UNIQUE or PRIMARY KEY constraint refused the row.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}
