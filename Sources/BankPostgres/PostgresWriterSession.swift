import BankStorage

/// The writer's server session, on the writer thread only: the connection, opened again after it was lost.
/// Every session sets `synchronous_commit = on` (a COMMIT that returned is on disk) and takes the hub lock
/// (`PostgresHubLock`); the first one also prepares the database (migrations, the probe table).
final class PostgresWriterSession {
    typealias Open = @Sendable () throws -> any SQLDatabase

    private let open: Open
    private let prepareDatabase: @Sendable (any SQLDatabase) throws -> Void
    private let lock: PostgresHubLock.Mode
    /// nil after the connection was lost, until the next batch connects again.
    private(set) var database: (any SQLDatabase)?

    init(open: @escaping Open, lock: PostgresHubLock.Mode, prepare: @escaping @Sendable (any SQLDatabase) throws -> Void) {
        self.open = open
        self.lock = lock
        self.prepareDatabase = prepare
    }

    /// The open connection, or a new one (a new server session: the hub lock is taken again).
    func connected() throws -> any SQLDatabase {
        if let database { return database }
        let fresh = try open()
        try fresh.execute("SET synchronous_commit = on; SET client_min_messages = warning")
        try PostgresHubLock.take(fresh, lock)
        try prepareDatabase(fresh)
        database = fresh
        return fresh
    }

    /// Forgets a connection that was lost, or whose state is unknown; the next batch opens another.
    func drop() {
        database = nil
    }

    /// The one-row table the readiness probe writes: created here, not in a migration, so it stays out of the
    /// schema the records share.
    static let probeTableSQL = "CREATE TABLE IF NOT EXISTS hub_probe(id integer PRIMARY KEY, counter bigint NOT NULL)"
    static let probeSQL = """
        INSERT INTO hub_probe(id, counter) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET counter = excluded.counter
        """
}

@available(*, unavailable, message: "the writer's session stays on the writer thread")
extension PostgresWriterSession: Sendable {}

extension Error {
    /// The connection is gone: reconnect; whether an unfinished COMMIT took effect is unknown.
    var isConnectionLoss: Bool { (self as? PostgresError)?.kind == .connectionLost }
}
