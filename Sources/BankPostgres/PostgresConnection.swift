import Glibc
import CLibPQ

/// One libpq connection. libpq blocks, so a connection lives on one dedicated thread (a `ConnectionThread`) and
/// never crosses to another: it is not `Sendable`.
///
/// Parameters and results travel in text format: numbers as decimal digits, arrays as array literals
/// (`PostgresArray`). A `PostgresStatement` is prepared on first use and again after a reconnect.
public final class PostgresConnection {
    /// The libpq handle. Owned: closed by `deinit` (PQfinish). Never nil.
    private let handle: OpaquePointer
    /// Names of the statements prepared on the current server session; a reset empties it.
    private var prepared: Set<String> = []

    /// Connects with a libpq connection string (`host=127.0.0.1 port=5432 dbname=bank user=bank` or a
    /// `postgresql://` URL). Throws `connectionLost` when the server cannot be reached.
    public init(conninfo: String) throws(PostgresError) {
        guard let handle = PQconnectdb(conninfo) else {
            throw PostgresError(sqlState: nil, message: "libpq could not allocate a connection", sql: nil,
                                connectionBad: true)
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(sqlState: nil, message: message, sql: nil, connectionBad: true)
        }
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    /// Whether the socket is still believed good (libpq notices a loss only when a call fails).
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Reconnects with the same parameters (PQreset); the server session, and so every prepared statement,
    /// is new.
    public func reconnect() throws(PostgresError) {
        prepared.removeAll()
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: nil,
                                connectionBad: true)
        }
    }

    /// Runs `sql` with no parameters; it may hold several statements (migrations, BEGIN, COMMIT).
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try check(PQexec(handle, sql), sql: sql)
    }

    /// Runs one statement with text parameters `$1…$n` (nil is SQL NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        let result = withCParameters(parameters) { values in
            PQexecParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs one statement with text parameters whose types are given (`types[i]` is a type OID, 0 to let the
    /// server infer it), so a parameter that appears only beside `IS NULL` still has a type.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?], types: [UInt32]) throws(PostgresError) -> PostgresResult {
        precondition(parameters.count == types.count, "one type per parameter")
        let result = withCParameters(parameters) { values in
            types.withUnsafeBufferPointer { oids in
                PQexecParams(handle, sql, Int32(values.count), oids.baseAddress, values, nil, nil, 0)
            }
        }
        return try check(result, sql: sql)
    }

    /// Runs a prepared statement (preparing it first on this server session) with text parameters.
    @discardableResult
    public func query(_ statement: PostgresStatement, _ parameters: [String?]) throws(PostgresError) -> PostgresResult {
        if !prepared.contains(statement.name) {
            _ = try check(PQprepare(handle, statement.name, statement.sql, 0, nil), sql: statement.sql)
            prepared.insert(statement.name)
        }
        let result = withCParameters(parameters) { values in
            PQexecPrepared(handle, statement.name, Int32(values.count), values, nil, nil, 0)
        }
        return try check(result, sql: statement.sql)
    }

    /// Turns a libpq result into rows or a `PostgresError` (with the SQLSTATE, without the parameters).
    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: sql,
                                connectionBad: !isConnected)
        }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            PQclear(result)
            throw PostgresError(sqlState: state, message: message, sql: sql, connectionBad: !isConnected)
        }
        return PostgresResult(result)
    }

    /// Calls `body` with C strings for `parameters`, alive only during the call.
    private func withCParameters<T>(_ parameters: [String?],
                                    _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
        // strdup'ed copies, freed below: libpq reads them only during the call.
        let copies: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        return body(copies.map { $0.map { UnsafePointer($0) } })
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        var text = String(cString: message)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}

@available(*, unavailable, message: "a libpq connection stays on its thread")
extension PostgresConnection: Sendable {}

/// A statement prepared once per server session under `name`.
public struct PostgresStatement: Sendable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        precondition(!name.isEmpty && !sql.isEmpty, "a prepared statement has a name and a text")
        self.name = name
        self.sql = sql
    }
}
