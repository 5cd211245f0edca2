@testable import BankPostgres
import BankStorage
import PostgresTestPeer
import Testing

/// The records' statements run prepared, once per server session: after a reconnect, with a NULL where a value
/// was, inside a rolled-back transaction, and past the cache's bound.
struct PostgresPreparedStatementsTests {
    /// A server with a `notes` table and one records connection to it, its cache bounded at `bound`.
    struct Bench {
        let peer: PostgresPeer
        let db: PostgresSQLConnection

        init(bound: Int = PostgresConnection.preparedStatementsDefaultMax) throws {
            peer = try PostgresPeer.start()
            do {
                db = PostgresSQLConnection(try PostgresConnection(conninfo: peer.conninfo, preparedStatementsMax: bound))
                try db.execute("CREATE TABLE notes(id bigint PRIMARY KEY, text text, parent bigint)")
            } catch {
                peer.stop()
                throw error
            }
        }

        /// The texts of the statements prepared on the connection's server session, as the server lists them
        /// (asked unprepared, so the question is not in the list).
        func serverStatements() throws -> Set<String> {
            let rows = try db.connection.query("SELECT statement FROM pg_prepared_statements")
            return Set((0..<rows.rowCount).map { rows.string($0, 0) })
        }

        func count(_ sql: String, _ values: any SQLBindable...) throws -> Int64? {
            try db.prepare(sql).queryOne(binding: values) { $0.int64(0) }
        }
    }

    /// A statement is prepared once and then run by name: the server holds it after the first run, and the
    /// same statement run again adds nothing.
    @Test func statementIsPreparedOnceOnTheSession() throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        let insert = "INSERT INTO notes(id, text) VALUES (?, ?)"
        for id in 1...3 as ClosedRange<Int64> {
            try bench.db.prepare(insert).run(id, "n\(id)")
        }
        #expect(try bench.serverStatements() == [PostgresParameters.rewrite(insert)])
        #expect(try bench.count("SELECT count(*) FROM notes WHERE id >= ?", 2 as Int64) == 2)
        #expect(bench.db.connection.preparedCount == 2)
    }

    /// The server session ends (its backend is terminated): the next statement fails as a lost connection, and
    /// after `reconnect` the same statement objects work again, prepared again on the new session.
    @Test func statementReusedAfterReconnect() throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        let insert = try bench.db.prepare("INSERT INTO notes(id, text) VALUES (?, ?)")
        try insert.run(1 as Int64, "before")
        let pid = try bench.db.connection.query("SELECT pg_backend_pid()").int64(0, 0)
        let admin = try PostgresConnection(conninfo: bench.peer.conninfo)
        #expect(try admin.query("SELECT pg_terminate_backend($1::int, 10000)", [String(pid)]).bool(0, 0))
        #expect(throws: PostgresError.self) { try insert.run(2 as Int64, "lost") }
        try bench.db.connection.reconnect()
        #expect(bench.db.connection.preparedCount == 0)
        try insert.run(3 as Int64, "after")
        #expect(try bench.count("SELECT count(*) FROM notes") == 2)
        #expect(try bench.serverStatements().count == 2)
    }

    /// A NULL sent with an inferred type and the same parameter sent with a value are two prepared statements,
    /// each typed as it would be unprepared: both keep working, in any order, and each answers as its values
    /// say.
    @Test func nullTypedParameterOnAPreparedStatement() throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        let insert = try bench.db.prepare("INSERT INTO notes(id, text, parent) VALUES (?, ?, ?)")
        try insert.run(1 as Int64, nil as String?, nil as Int64?)
        try insert.run(2 as Int64, "b", 1 as Int64)
        try insert.run(3 as Int64, nil as String?, 1 as Int64)
        let filtered = "SELECT count(*) FROM notes WHERE (CAST(?1 AS TEXT) IS NULL OR text = ?1)"
        #expect(try bench.count(filtered, nil as String?) == 3)
        #expect(try bench.count(filtered, "b") == 1)
        #expect(try bench.count(filtered, nil as String?) == 3)
        // An untyped parameter takes the type its first use infers only in its own variant: the value's own
        // type in the other, as with PQexecParams.
        let type = "SELECT pg_typeof(COALESCE(?, NULL))::text"
        #expect(try bench.db.prepare(type).queryOne(binding: [nil as String?]) { $0.string(0) } == "text")
        #expect(try bench.db.prepare(type).queryOne(binding: [7 as Int64]) { $0.string(0) } == "bigint")
        #expect(try bench.count("SELECT count(*) FROM notes WHERE parent = ?", 1 as Int64) == 2)
        #expect(bench.db.connection.preparedCount == 8)
    }

    /// PREPARE is not transactional: a statement first prepared in a transaction that rolls back is still
    /// prepared, and runs by name afterwards.
    @Test func statementPreparedInARolledBackTransactionStillRuns() throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        let insert = try bench.db.prepare("INSERT INTO notes(id, text) VALUES (?, ?)")
        try bench.db.execute("BEGIN")
        try insert.run(1 as Int64, "rolled back")
        try bench.db.execute("ROLLBACK")
        try insert.run(1 as Int64, "kept")
        #expect(try bench.db.prepare("SELECT text FROM notes WHERE id = ?").queryOne(1 as Int64) { $0.string(0) } == "kept")
        #expect(try bench.serverStatements().count == 2)
    }

    /// At the bound the least recently used statement is DEALLOCATE'd (also inside a reader's read-only
    /// transaction, which goes on): the server never holds more than the bound, and an evicted statement is
    /// prepared again when run.
    @Test func cacheEvictsTheLeastRecentlyUsedAtTheBound() throws {
        let bench = try Bench(bound: 2)
        defer { bench.peer.stop() }
        let a = "SELECT count(*) FROM notes WHERE id > ?"
        let b = "SELECT count(*) FROM notes WHERE id < ?"
        let c = "SELECT count(*) FROM notes WHERE id = ?"
        try bench.db.prepare("INSERT INTO notes(id, text) VALUES (?, ?)").run(5 as Int64, "five")
        #expect(bench.db.connection.preparedCount == 1)
        try bench.db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        #expect(try bench.count(a, 1 as Int64) == 1)  // evicts the INSERT
        #expect(try bench.count(b, 1 as Int64) == 0)
        #expect(try bench.count(a, 9 as Int64) == 0)  // a is now newer than b
        #expect(try bench.count(c, 5 as Int64) == 1)  // evicts b
        try bench.db.execute("COMMIT")
        #expect(try bench.serverStatements() == [PostgresParameters.rewrite(a), PostgresParameters.rewrite(c)])
        #expect(try bench.count(b, 9 as Int64) == 1)  // prepared again, evicting a
        #expect(try bench.serverStatements() == [PostgresParameters.rewrite(b), PostgresParameters.rewrite(c)])
        #expect(bench.db.connection.preparedCount == 2)
    }
}
