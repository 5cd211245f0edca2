import Glibc
import CLibPQ

/// One libpq connection. libpq blocks, so a connection lives on one dedicated thread (a `ConnectionThread`) and
/// never crosses to another: it is not `Sendable`.
///
/// Parameters and results travel in text format: numbers as decimal digits, arrays as array literals
/// (`PostgresArray`). A `PostgresStatement` is prepared on first use and again after a reconnect; so is each
/// text run with `query(text:…)` (the records' statements), under a generated name, at most
/// `preparedStatementsMax` of them per session (`init`'s, 256 by default; the least recently used is
/// DEALLOCATE'd to make room). The server plans a prepared statement for its values for its first five runs and
/// may then keep a generic plan (`plan_cache_mode = auto`, when that plan costs no more): the records' statements
/// are mostly key lookups and inserts, whose generic plan is their custom one.
public final class PostgresConnection {
    /// Generated prepared statements per server session by default: more than the records' distinct statements
    /// a hub's connection runs (about 120 texts, a few with a NULL variant), few enough that the server's memory
    /// for their plans stays small (a simple statement's plan is a few kB).
    public static let preparedStatementsDefaultMax = 256

    /// The libpq handle. Owned: closed by `deinit` (PQfinish). Never nil.
    private let handle: OpaquePointer
    /// Names of the `PostgresStatement`s prepared on the current server session; a reset empties it.
    private var prepared: Set<String> = []
    /// The generated prepared statements of the current server session; a reset empties it.
    private var statements: PostgresStatementCache
    /// The last id `newTextID` gave.
    private var lastTextID = 0
    /// Round trips to the server so far (each waits for the server's answer once): a PQexec, PQprepare or
    /// PQexec*Params is one, a whole `pipeline` is one (plus one per reconnect's handshake, not counted). What
    /// the ledger's tests read to keep a batch's cost fixed (`LedgerRoundTripsTests`).
    public private(set) var roundTrips = 0

    /// Connects with a libpq connection string (`host=127.0.0.1 port=5432 dbname=bank user=bank` or a
    /// `postgresql://` URL). Throws `connectionLost` when the server cannot be reached.
    /// `preparedStatementsMax` bounds the generated prepared statements of a session (`query(text:…)`).
    public init(conninfo: String,
                preparedStatementsMax: Int = PostgresConnection.preparedStatementsDefaultMax) throws(PostgresError) {
        precondition(preparedStatementsMax > 0, "a connection can prepare at least one statement")
        statements = PostgresStatementCache(capacity: preparedStatementsMax)
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

    /// Whether a transaction is open on the session (also a failed one, which awaits ROLLBACK): what libpq saw
    /// in the server's last answer.
    var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Reconnects with the same parameters (PQreset); the server session, and so every prepared statement,
    /// is new.
    public func reconnect() throws(PostgresError) {
        prepared.removeAll()
        statements.removeAll()
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: nil,
                                connectionBad: true)
        }
    }

    /// Runs `sql` with no parameters; it may hold several statements (migrations, BEGIN, COMMIT).
    public func execute(_ sql: String) throws(PostgresError) {
        roundTrips += 1
        _ = try check(PQexec(handle, sql), sql: sql)
    }

    /// Commits the open transaction. Throws `in_failed_sql_transaction` (25P02) when the server rolled it back
    /// instead: it does so without an error, answering `ROLLBACK`, when a statement had failed in it and was not
    /// rolled back to a savepoint.
    public func commit() throws(PostgresError) {
        roundTrips += 1
        try Self.checkCommitted(try check(PQexec(handle, "COMMIT"), sql: "COMMIT"))
    }

    /// Throws `in_failed_sql_transaction` (25P02) unless `result`, the answer to a COMMIT, says COMMIT.
    static func checkCommitted(_ result: PostgresResult) throws(PostgresError) {
        guard result.commandStatus == "COMMIT" else {
            throw PostgresError(sqlState: "25P02", message: "the transaction had failed; COMMIT rolled it back",
                                sql: "COMMIT")
        }
    }

    /// Runs one statement with text parameters `$1…$n` (nil is SQL NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        roundTrips += 1
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
        roundTrips += 1
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
            roundTrips += 1
            _ = try check(PQprepare(handle, statement.name, statement.sql, 0, nil), sql: statement.sql)
            prepared.insert(statement.name)
        }
        roundTrips += 1
        let result = withCParameters(parameters) { values in
            PQexecPrepared(handle, statement.name, Int32(values.count), values, nil, nil, 0)
        }
        return try check(result, sql: statement.sql)
    }

    /// One statement of a `pipeline`: a text without parameters (`BEGIN`, `COMMIT`), or a `PostgresStatement`
    /// with text parameters.
    enum PipelineStep {
        case text(String)
        case prepared(PostgresStatement, [String?])

        var sql: String {
            switch self {
            case .text(let sql): sql
            case .prepared(let statement, _): statement.sql
            }
        }
    }

    /// Runs `steps` in order in ONE round trip (libpq's pipeline mode, one Sync at the end): all are sent, then
    /// all answers read. The server still runs them one after the other, each seeing what the earlier ones did,
    /// so a statement that waits for a lock holds back the ones after it as it would one at a time. Returns one
    /// result per step. The first failing step throws its error; the steps after it are skipped by the server
    /// (an open transaction is then aborted, and the caller rolls it back as after any failed statement).
    /// A `PostgresStatement` not yet prepared on this session is prepared in the same pipeline.
    ///
    /// The socket stays blocking: libpq sends while the server reads, and the server's answers queue in the
    /// socket buffers until they are read after the Sync. That cannot deadlock as long as the answers to a
    /// pipeline's statements are small against those buffers while its parameters go out (the ledger's are: a
    /// batch's largest answer is its locked accounts, about 50 bytes a row, and its large parameters go in
    /// its last pipeline, whose answers are a row of counts and COMMIT).
    func pipeline(_ steps: [PipelineStep]) throws(PostgresError) -> [PostgresResult] {
        precondition(!steps.isEmpty, "a pipeline holds at least one statement")
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: nil,
                                connectionBad: !isConnected)
        }
        roundTrips += 1
        // What was sent, in order: a preparation (its name) or a statement (its index in `steps`).
        var sent: [(step: Int, preparing: String?)] = []
        var sendFailure: PostgresError?
        for (index, step) in steps.enumerated() {
            let accepted: Int32
            switch step {
            case .text(let sql):
                accepted = PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0)
            case .prepared(let statement, let parameters):
                if !prepared.contains(statement.name) && !sent.contains(where: { $0.preparing == statement.name }) {
                    guard PQsendPrepare(handle, statement.name, statement.sql, 0, nil) == 1 else {
                        accepted = 0
                        break
                    }
                    sent.append((index, statement.name))
                }
                accepted = withCParameters(parameters) { values in
                    PQsendQueryPrepared(handle, statement.name, Int32(values.count), values, nil, nil, 0)
                }
            }
            guard accepted == 1 else {
                sendFailure = PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)),
                                            sql: step.sql, connectionBad: !isConnected)
                break
            }
            sent.append((index, nil))
        }
        if sendFailure == nil, PQpipelineSync(handle) != 1 {
            sendFailure = PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: nil,
                                        connectionBad: !isConnected)
        }
        if let sendFailure {
            // Nothing more can be read reliably: the session is dropped, and the next use reconnects.
            abandonPipeline()
            throw sendFailure
        }
        var results: [PostgresResult] = []
        results.reserveCapacity(steps.count)
        var failure: PostgresError?
        for (step, preparing) in sent {
            let sql = steps[step].sql
            guard let result = PQgetResult(handle) else {
                abandonPipeline()
                throw failure ?? PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: sql,
                                               connectionBad: true)
            }
            // Each statement's answer is followed by a nil that ends it.
            while let extra = PQgetResult(handle) { PQclear(extra) }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                continue
            }
            do throws(PostgresError) {
                let checked = try check(result, sql: sql)
                if let preparing {
                    prepared.insert(preparing)
                } else {
                    results.append(checked)
                }
            } catch {
                if failure == nil { failure = error }
                if error.kind == .connectionLost {
                    abandonPipeline()
                    throw error
                }
            }
        }
        guard let sync = PQgetResult(handle), PQresultStatus(sync) == PGRES_PIPELINE_SYNC else {
            abandonPipeline()
            throw failure ?? PostgresError(sqlState: nil, message: "the pipeline's end was not answered", sql: nil,
                                           connectionBad: true)
        }
        PQclear(sync)
        guard PQexitPipelineMode(handle) == 1 else {
            abandonPipeline()
            throw failure ?? PostgresError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), sql: nil,
                                           connectionBad: true)
        }
        if let failure { throw failure }
        precondition(results.count == steps.count, "one result per statement of a pipeline")
        return results
    }

    /// Leaves a pipeline whose answers could not all be read: out of pipeline mode if libpq allows it, else on a
    /// new session (`PQreset`). What the old session held is rolled back by the server, unless a COMMIT of it had
    /// already run.
    private func abandonPipeline() {
        guard PQexitPipelineMode(handle) != 1 else { return }
        // Still in pipeline mode with answers pending: only a new session gets out of it (and has none of the
        // old one's prepared statements). When the server cannot be reached, `isConnected` is false after it,
        // which every caller checks before its next use.
        prepared.removeAll()
        statements.removeAll()
        PQreset(handle)
    }

    /// An id for a SQL text this connection will run with `query(text:…)`: the id names the text in the
    /// statement cache (cheaper to hash than the text), so it must always come with the same text.
    func newTextID() -> Int {
        lastTextID += 1
        return lastTextID
    }

    /// Runs `sql` (known as `text`, from `newTextID`) as a prepared statement with text parameters of the
    /// given types (as the other `query(_:_:types:)`): prepared on first use on this server session with
    /// these types, under a generated name, then run by name (PQexecPrepared), so the server parses and
    /// analyzes it once per session. Making room DEALLOCATEs the least recently used statement; it runs inside
    /// the caller's transaction, if any (also a read-only one), which a prepared statement outlives (PREPARE and
    /// DEALLOCATE are not transactional).
    @discardableResult
    func query(text: Int, _ sql: String, _ parameters: [String?], types: [UInt32]) throws(PostgresError) -> PostgresResult {
        precondition(parameters.count == types.count, "one type per parameter")
        let key = PostgresStatementCache.Key(text: text, types: types)
        let name: String
        if let prepared = statements.use(key) {
            name = prepared
        } else {
            name = try prepare(key, sql)
        }
        roundTrips += 1
        let result = withCParameters(parameters) { values in
            PQexecPrepared(handle, name, Int32(values.count), values, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Prepares `sql` for `key` under a new name, first DEALLOCATE'ing the least recently used statement when
    /// the session holds `preparedStatementsMax`. A failure leaves the cache as the server has it.
    private func prepare(_ key: PostgresStatementCache.Key, _ sql: String) throws(PostgresError) -> String {
        if let victim = statements.victim {
            try execute("DEALLOCATE \(victim.name)")
            statements.remove(victim.key)
        }
        let name = statements.newName()
        roundTrips += 1
        let result = key.types.withUnsafeBufferPointer { oids in
            PQprepare(handle, name, sql, Int32(oids.count), oids.baseAddress)
        }
        _ = try check(result, sql: sql)
        statements.add(key, name: name)
        return name
    }

    /// Generated prepared statements on the current server session (`query(text:…)`).
    var preparedCount: Int { statements.count }

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
