import BankStorage
import BankStore
import Testing

/// The SQLite wrapper's own promises: statements outlive a released connection object, and a step budget
/// interrupts only what runs inside it.
struct SQLiteConnectionTests {
    private static let countTo100k = """
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100000) SELECT COUNT(*) FROM c
        """

    /// A statement prepared on a connection nobody holds any more still runs (SQLite keeps the handle until the
    /// statement is finalized): `SQLiteConnection(...).prepare(...).query(...)` is a pattern callers use.
    @Test func statementRunsAfterItsConnectionObjectIsReleased() throws {
        let database = try TemporaryDatabase()
        func prepared() throws -> SQLiteStatement {
            try SQLiteConnection(path: database.path, mode: .readWrite).prepare("SELECT 40 + 2")
        }
        let statement = try prepared()
        #expect(try statement.queryOne { $0.int64(0) } == 42)
    }

    /// Work past the budget is interrupted and reported as such; afterwards the connection runs the same
    /// query without a budget, and a cheap query within one.
    @Test func stepBudgetInterruptsOnlyInsideIt() throws {
        let database = try TemporaryDatabase()
        let connection = try SQLiteConnection(path: database.path, mode: .readWrite)
        #expect(throws: SQLiteStepBudgetExceeded.self) {
            try connection.withStepBudget(10_000) { try connection.prepare(Self.countTo100k).queryOne { $0.int64(0) } }
        }
        #expect(try connection.prepare(Self.countTo100k).queryOne { $0.int64(0) } == 100_000)
        #expect(try connection.withStepBudget(10_000) { try connection.prepare("SELECT 7").queryOne { $0.int64(0) } } == 7)
    }
}
