import BankStorage

/// Interim `SQLDatabase` over one libpq connection, so the writer and readers can be built and tested before the
/// records' own adapter (`PostgresSQLConnection`, branch pgsql) lands; it goes when that one is merged.
/// `?` parameters become `$1…$n` (outside quoted text); values travel as text, blobs as bytea hex.
public final class InterimSQLConnection: SQLDatabase {
    let connection: PostgresConnection
    public private(set) var changes = 0

    public init(conninfo: String) throws(PostgresError) {
        connection = try PostgresConnection(conninfo: conninfo)
    }

    public func prepare(_ sql: String) throws -> InterimStatement {
        InterimStatement(owner: self, sql: Self.numbered(sql))
    }

    public func execute(_ sql: String) throws {
        try connection.execute(sql)
        changes = 0
    }

    fileprivate func run(_ sql: String, _ values: [any SQLBindable]) throws -> PostgresResult {
        let result = try connection.query(sql, values.map(Self.text))
        changes = result.affectedRows
        return result
    }

    private static func text(_ value: any SQLBindable) -> String? {
        switch value.sqlValue {
        case .integer(let number): String(number)
        case .text(let text): text
        case .blob(let bytes): "\\x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case .null: nil
        }
    }

    /// `?` outside quotes becomes `$n`.
    static func numbered(_ sql: String) -> String {
        var output = ""
        var quoted = false
        var index = 0
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                index += 1
                output += "$\(index)"
            } else {
                output.append(character)
            }
        }
        return output
    }
}

public final class InterimStatement: SQLStatement {
    private let owner: InterimSQLConnection
    private let sql: String

    init(owner: InterimSQLConnection, sql: String) {
        self.owner = owner
        self.sql = sql
    }

    public func run(binding values: [any SQLBindable]) throws {
        _ = try owner.run(sql, values)
    }

    public func query<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> [T] {
        let result = try owner.run(sql, values)
        return try (0..<result.rowCount).map { try map(InterimRow(result: result, row: $0)) }
    }

    public func queryOne<T>(binding values: [any SQLBindable], row map: (any SQLRow) throws -> T) throws -> T? {
        try query(binding: values, row: map).first
    }
}

struct InterimRow: SQLRow {
    let result: PostgresResult
    let row: Int

    func int64(_ column: Int32) -> Int64 {
        switch result.string(row, Int(column)) {
        case "t": 1
        case "f": 0
        default: result.int64(row, Int(column))
        }
    }

    func isNull(_ column: Int32) -> Bool { result.isNull(row, Int(column)) }
    func string(_ column: Int32) -> String { result.string(row, Int(column)) }

    func blob(_ column: Int32) -> [UInt8] {
        let text = Array(result.string(row, Int(column)).utf8.dropFirst(2))
        return stride(from: 0, to: text.count - 1, by: 2).map { UInt8(String(decoding: text[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }
}

extension PostgresError: SQLDatabaseError {
    public var isUniqueViolation: Bool { sqlState == "23505" }
}
