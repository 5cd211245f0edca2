import BankStorage

/// One hub per PostgreSQL database, for now: the ledger's authority is the hub's memory, so a second hub writing
/// the same tables would make two ledgers disagree. The writer's session takes a session-level advisory lock at
/// open and holds it while the session lives; a second hub's writer finds it taken and refuses to start.
/// Several hubs on one database need the ledger's authority in the database and the bus (issue 14).
public enum PostgresHubLock {
    /// Any constant other locks do not use ("BANKHUBW" in ASCII); `PostgresSchema` uses another for migrations.
    public static let key: Int64 = 0x4241_4E4B_4855_4257

    /// Takes the lock on `db`'s session or throws `HeldElsewhere`. Never waits.
    static func take(_ db: any SQLDatabase) throws {
        let taken = try db.prepare("SELECT CASE WHEN pg_try_advisory_lock(\(key)) THEN 1 ELSE 0 END")
            .queryOne { row in row.int64(0) }
        guard taken == 1 else { throw HeldElsewhere() }
    }

    /// Another session (another hub) holds the lock.
    public struct HeldElsewhere: Error, CustomStringConvertible {
        public var description: String {
            "another hub serves this database; several hubs need --bus (issue 14)"
        }
    }
}
