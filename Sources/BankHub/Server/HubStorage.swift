import BankPostgres
import BankStorage
import BankStore
import Foundation

/// The database a hub runs on, opened: its one writer, its readers, and private read connections for the
/// workers that read on a thread of their own (the outbox worker). Everything above this sees only the
/// `BankStorage` protocols, so the hub's logic does not know which engine is behind it.
struct HubStorage: Sendable {
    let writer: any StorageWriter
    let readers: any StorageReaders
    /// A new read-only connection, for the calling thread only.
    let openReadConnection: @Sendable () throws -> any SQLDatabase
    /// PostgreSQL: the outbox worker and the standing-order scheduler claim their work per row, so any number of
    /// hubs on the database may run them. Nil on SQLite: the one hub does all of it.
    var claims: (any WorkClaims)? = nil
    /// With `claims`: this hub's heartbeat, which lets the other hubs take its claims soon after it dies, and which
    /// the outbox worker asks before it claims or sends (`HubLiveness`). Made by `HubServer.open`; nil on SQLite.
    var liveness: HubLiveness? = nil

    /// The embedded default: the SQLite file at `path` (created and migrated by the writer).
    static func sqlite(path: String, options: StorageOptions) throws -> HubStorage {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let writer = try DatabaseWriter(path: path, options: options)
        let readers: DatabaseReaders
        do {
            readers = try DatabaseReaders(path: path, readStepsMax: options.readStepsMax)
        } catch {
            writer.close()
            throw error
        }
        return HubStorage(writer: writer, readers: readers, openReadConnection: {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            try connection.execute("PRAGMA query_only = ON")
            return connection
        })
    }

    /// One hub on a PostgreSQL database at `url` (migrated at open). Refuses to open when another hub serves
    /// the database in the other lock mode (`PostgresHubLock`, `options.hubLock`).
    static func postgres(url: String, options: PostgresStorageOptions) throws -> HubStorage {
        let database = try PostgresHubDatabase.open(url: url, options: options)
        return HubStorage(writer: database.writer, readers: database.readers,
                          openReadConnection: database.openReadConnection, claims: database.claims)
    }

    func close() {
        writer.close()
        readers.close()
    }
}
