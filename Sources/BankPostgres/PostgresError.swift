import BankCore

/// A failure reported by libpq or the server. Carries the SQLSTATE and the SQL, never the bound values:
/// amounts, notes and keys stay out of logs (as `SQLiteError` does for SQLite).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What the caller can do about it.
    public enum Kind: Sendable, Equatable {
        /// The transaction lost a race (serialization failure 40001, deadlock 40P01): run it again.
        case retryable
        /// The connection is gone (class 08, an administrator or crash shutdown 57P0x, a socket error):
        /// reconnect; whether an unfinished COMMIT took effect is unknown.
        case connectionLost
        /// Anything else: a constraint, a syntax error, a bug. Running it again gives the same answer.
        case other
    }

    /// The five-character SQLSTATE, or nil when the server sent none (libpq's own failures).
    public let sqlState: String?
    /// The server's or libpq's message (no bound values: they are sent apart from the SQL text).
    public let message: String
    /// The statement that failed, or nil for a connection failure.
    public let sql: String?
    public let kind: Kind

    public init(sqlState: String?, message: String, sql: String?, connectionBad: Bool = false) {
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
        self.kind = connectionBad ? .connectionLost : Self.classify(sqlState)
    }

    /// The classification by SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html).
    public static func classify(_ sqlState: String?) -> Kind {
        guard let sqlState else { return .connectionLost }
        switch sqlState {
        case "40001", "40P01": return .retryable
        case "57P01", "57P02", "57P03": return .connectionLost
        default: return sqlState.hasPrefix("08") ? .connectionLost : .other
        }
    }

    /// The error a client of the hub sees: `unavailable` while the database cannot be reached or keeps losing
    /// races (try again later), `internal` for anything else.
    public var bankError: BankError {
        switch kind {
        case .connectionLost:
            BankError(.unavailable, "the database cannot be reached; try again later")
        case .retryable:
            BankError(.unavailable, "the database is busy; try again later")
        case .other:
            BankError(.internalError, "the database refused an operation (SQLSTATE \(sqlState ?? "none"))")
        }
    }

    public var description: String {
        "PostgreSQL error \(sqlState ?? "(no SQLSTATE)"): \(message)" + (sql.map { " in: \($0)" } ?? "")
    }
}
