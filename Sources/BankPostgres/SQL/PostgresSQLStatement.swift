import BankStorage

/// One statement of a `PostgresSQLConnection`: its SQL with `$n` parameters, run with typed text parameters as
/// a prepared statement of its connection (`PostgresConnection.query(text:…)`: prepared once per server session
/// and per list of parameter types).
public final class PostgresSQLStatement: SQLStatement {
    /// The libpq connection itself, not the `PostgresSQLConnection` that caches this statement (no cycle).
    private let connection: PostgresConnection
    private let changes: ChangeCount
    let sql: String
    /// Names `sql` in the connection's prepared-statement cache.
    private let textID: Int

    init(connection: PostgresConnection, changes: ChangeCount, sql: String) {
        precondition(!sql.isEmpty, "a statement has a text")
        self.connection = connection
        self.changes = changes
        self.sql = sql
        textID = connection.newTextID()
    }

    public func run(binding values: [any SQLBindable]) throws(PostgresError) {
        _ = try execute(values)
    }

    public func query<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> [T] {
        let result = try execute(values)
        var rows: [T] = []
        rows.reserveCapacity(result.rowCount)
        for index in 0..<result.rowCount {
            rows.append(try map(PostgresSQLRow(result: result, row: index)))
        }
        return rows
    }

    public func queryOne<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> T? {
        let result = try execute(values)
        guard result.rowCount > 0 else { return nil }
        return try map(PostgresSQLRow(result: result, row: 0))
    }

    private func execute(_ values: [any SQLBindable]) throws(PostgresError) -> PostgresResult {
        var texts: [String?] = []
        var types: [UInt32] = []
        texts.reserveCapacity(values.count)
        types.reserveCapacity(values.count)
        for value in values {
            let (text, type) = PostgresParameters.encode(value.sqlValue)
            texts.append(text)
            types.append(type)
        }
        let result = try connection.query(text: textID, sql, texts, types: types)
        changes.value = result.affectedRows
        return result
    }
}

@available(*, unavailable, message: "a libpq connection stays on its thread")
extension PostgresSQLStatement: Sendable {}

/// A row of a text-format result, read the way SQLite's values read: integers from decimal text (also a
/// `numeric` SUM of integers), booleans `t`/`f` as 1/0, bytea from its `\x` hex form.
struct PostgresSQLRow: SQLRow {
    let result: PostgresResult
    let row: Int

    func int64(_ column: Int32) -> Int64 {
        let text = result.string(row, Int(column))
        if let value = Int64(text) { return value }
        if text == "t" { return 1 }
        if text == "f" { return 0 }
        // numeric of an integral value may print as "12.0000" only if a division made it fractional: refuse.
        preconditionFailure("column \(column) is not an integer: the SQL must make it one")
    }

    func isNull(_ column: Int32) -> Bool { result.isNull(row, Int(column)) }

    func string(_ column: Int32) -> String { result.string(row, Int(column)) }

    func blob(_ column: Int32) -> [UInt8] {
        let text = result.string(row, Int(column))
        guard let bytes = PostgresParameters.decodeHex(text) else {
            preconditionFailure("column \(column) is not bytea in hex output form")
        }
        return bytes
    }
}
