import CLibPQ

/// The rows of one statement, in text format, read in place from libpq's result (freed in `deinit`).
/// Column accessors trap on a type mismatch: the SQL that made the result names the types.
public final class PostgresResult {
    /// The libpq result. Owned: cleared by `deinit` (PQclear). Never nil.
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }
    /// Rows an INSERT, UPDATE or DELETE touched (0 for other statements).
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }
    /// The command tag (`INSERT 0 3`, `COMMIT`; `ROLLBACK` for a COMMIT the server refused).
    var commandStatus: String { String(cString: PQcmdStatus(handle)) }

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        precondition(row < rowCount && column < columnCount, "row \(row), column \(column) out of range")
        return PQgetisnull(handle, Int32(row), Int32(column)) == 1
    }

    public func string(_ row: Int, _ column: Int) -> String {
        precondition(!isNull(row, column), "column \(column) is NULL")
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func optionalString(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : string(row, column)
    }

    public func int64(_ row: Int, _ column: Int) -> Int64 {
        guard let value = Int64(string(row, column)) else {
            preconditionFailure("column \(column) is not a bigint")
        }
        return value
    }

    public func optionalInt64(_ row: Int, _ column: Int) -> Int64? {
        isNull(row, column) ? nil : int64(row, column)
    }

    public func bool(_ row: Int, _ column: Int) -> Bool {
        string(row, column) == "t"
    }
}

@available(*, unavailable, message: "a libpq result stays on its connection's thread")
extension PostgresResult: Sendable {}
