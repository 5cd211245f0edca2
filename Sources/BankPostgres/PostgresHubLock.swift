import BankStorage

/// Who may serve a PostgreSQL database together. A lone hub keeps the ledger's authority in its memory, so no
/// other hub may write the same tables: it takes the lock exclusively. Hubs started to run together (`--bus`,
/// the ledger's authority in the database) take it shared: any number of them, but never beside a lone hub.
/// The writer's session takes the lock at open and holds it while the session lives; a hub that finds it held
/// in the other mode refuses to start.
public enum PostgresHubLock {
    /// Any constant other locks do not use ("BANKHUBW" in ASCII); `PostgresSchema` uses another for migrations.
    public static let key: Int64 = 0x4241_4E4B_4855_4257

    /// How a hub holds the lock.
    public enum Mode: Sendable, Equatable {
        /// The only hub on the database.
        case alone
        /// One of several hubs on the database, joined by the bus.
        case shared
    }

    /// Takes the lock on `db`'s session in `mode` or throws `HeldElsewhere`. Never waits.
    static func take(_ db: any SQLDatabase, _ mode: Mode) throws {
        let function = mode == .alone ? "pg_try_advisory_lock" : "pg_try_advisory_lock_shared"
        let taken = try db.prepare("SELECT CASE WHEN \(function)(\(key)) THEN 1 ELSE 0 END")
            .queryOne { row in row.int64(0) }
        guard taken == 1 else { throw HeldElsewhere(mode: mode) }
    }

    /// Another hub holds the lock in a mode that excludes this one.
    public struct HeldElsewhere: Error, CustomStringConvertible {
        public let mode: Mode

        public var description: String {
            switch mode {
            case .alone: "another hub serves this database; several hubs need --bus on every one of them"
            case .shared: "a hub without --bus serves this database; stop it, or start every hub with --bus"
            }
        }
    }
}
