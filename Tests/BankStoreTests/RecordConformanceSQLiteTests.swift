@testable import BankStore
import StorageConformance
import Testing

/// The shared record bodies on SQLite, each on a fresh database migrated by `Schema.migrate`.
struct RecordConformanceSQLiteTests {
    /// Every record body gives the answers a user expects on SQLite.
    @Test(arguments: RecordConformance.all.map(\.name))
    func records(name: String) throws {
        let database = try TemporaryDatabase()
        let db = try SQLiteConnection(path: database.path, mode: .readWrite)
        try Schema.migrate(db)
        let body = try #require(RecordConformance.all.first { $0.name == name }).body
        try body(db)
    }
}
