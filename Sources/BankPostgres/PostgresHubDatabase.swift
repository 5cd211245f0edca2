import BankStorage

/// A hub's PostgreSQL database, opened: the writer (migrating it and taking the hub lock), the readers,
/// read-only sessions for workers on threads of their own, and the claims of work several hubs share. The hub's
/// `HubStorage.postgres` wraps it.
public struct PostgresHubDatabase: Sendable {
    public let writer: PostgresWriter
    public let readers: PostgresReaders
    /// A new read-only session, bounded like the readers', for the calling thread only.
    public let openReadConnection: @Sendable () throws -> any SQLDatabase
    /// Work claimed per row (outbox, receipts, standing orders), so several hubs on the database each do a part.
    public let claims: PostgresWorkClaims

    /// Connects to `url` (a libpq URL or connection string), migrates the schema and takes the hub lock.
    /// Throws `PostgresHubLock.HeldElsewhere` when another hub serves this database.
    public static func open(url: String, options: PostgresStorageOptions) throws -> PostgresHubDatabase {
        let connect: @Sendable () throws -> any SQLDatabase = { try Self.connect(url) }
        // Migrations after the lock: two hubs starting together never both migrate.
        let writer = try PostgresWriter(open: connect, lock: options.hubLock, prepare: Self.migrate, failStop: options.failStop)
        let readers: PostgresReaders
        do {
            readers = try PostgresReaders(open: connect, options: options)
        } catch {
            writer.close()
            throw error
        }
        return PostgresHubDatabase(writer: writer, readers: readers, openReadConnection: {
            try PostgresReaders.readOnlySession(connect(), options: options)
        }, claims: PostgresWorkClaims(connect: connect, statementMillisecondsMax: options.readStatementMillisecondsMax))
    }

    /// A connection to `url` (a libpq URL or connection string) as the records use it.
    public static func connect(_ url: String) throws -> any SQLDatabase {
        try PostgresSQLConnection(conninfo: url)
    }

    /// Brings the schema of `db` (opened by `connect`) to the newest version.
    public static func migrate(_ db: any SQLDatabase) throws {
        guard let postgres = db as? PostgresSQLConnection else { preconditionFailure("opened by connect") }
        try PostgresSchema.migrate(postgres.connection)
    }
}
