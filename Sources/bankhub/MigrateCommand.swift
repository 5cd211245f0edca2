import ArgumentParser
import BankPostgres
import Foundation

/// `bankhub migrate --database postgresql://USER@HOST:PORT/DB`: brings a PostgreSQL ledger database to the
/// newest schema (`PostgresSchema.migrate`: pending migrations in one transaction under an advisory lock, so it
/// is safe beside running hubs and a second run changes nothing), printing the schema version before and after.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the PostgreSQL ledger's schema migrations (idempotent); print the version before and after.")

    @Option(help: "The PostgreSQL database, postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?PARAMS].")
    var database: String

    func run() throws {
        let url = try DatabaseURL(database)
        let after: Int
        do throws(PostgresError) {
            let connection = try PostgresConnection(conninfo: url.conninfo)
            let before = try Self.schemaVersion(connection)
            Console.line("schema version before: \(before)")
            try PostgresSchema.migrate(connection)
            after = try Self.schemaVersion(connection)
            Console.line("schema version after: \(after)"
                         + (after == before ? " (already up to date, nothing changed)" : ""))
        } catch {
            throw MigrateFailed(description: "cannot migrate \(url.display): \(url.redacted(error.message))"
                                + (error.sqlState.map { " (SQLSTATE \($0))" } ?? ""))
        }
        // A database migrated by a newer bankhub is left alone, but this binary must not run a hub on it.
        guard after == PostgresSchema.latestVersion else {
            throw MigrateFailed(description: "\(url.display) is at schema version \(after), newer than this bankhub's "
                                + "\(PostgresSchema.latestVersion): upgrade bankhub")
        }
    }

    /// The newest applied migration, 0 for a database never migrated (no `schema_migrations` table yet).
    private static func schemaVersion(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        // Two statements: a query naming a missing table fails when it is planned, even in a branch not taken.
        guard try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").bool(0, 0) else { return 0 }
        return Int(try connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").int64(0, 0))
    }
}

/// A `--database` URL, checked before anything connects. Its password never reaches the output: `display` and
/// every message go through `redacted`.
struct DatabaseURL {
    /// libpq's wait for a server that does not answer, in seconds, unless the URL sets `connect_timeout`.
    static let connectTimeoutSecondsDefault = 10
    static let schemes = ["postgresql://", "postgres://"]

    /// What libpq is given: the URL, with `connect_timeout` added when missing.
    let conninfo: String
    /// The URL with its password (if any) replaced by `***`.
    let display: String
    private let password: Substring?

    init(_ text: String) throws(MigrateFailed) {
        guard let scheme = Self.schemes.first(where: { text.hasPrefix($0) }) else {
            // Not a ValidationError: that one prints the usage too, and the error is to be one line.
            throw MigrateFailed(description: "--database must be a postgresql:// URL, such as "
                                + "postgresql://bank@127.0.0.1:5432/bank (the URL given is not repeated: it may hold a password)")
        }
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let userInfo = authority.lastIndex(of: "@").map { authority[..<$0] }
        let password = userInfo.flatMap { info in info.firstIndex(of: ":").map { info[info.index(after: $0)...] } }
            .flatMap { $0.isEmpty ? nil : $0 }
        self.password = password
        var parameters: [String] = []
        if !text.contains("connect_timeout=") { parameters.append("connect_timeout=\(Self.connectTimeoutSecondsDefault)") }
        // The server's NOTICEs (CREATE TABLE IF NOT EXISTS … skipping) would go to stderr unasked.
        if !text.contains("options=") { parameters.append("options=-c%20client_min_messages%3Dwarning") }
        conninfo = parameters.isEmpty ? text : text + (text.contains("?") ? "&" : "?") + parameters.joined(separator: "&")
        display = Self.redacted(text, password: password)
    }

    /// `text` with the password replaced by `***`, on one line (libpq's messages span several).
    func redacted(_ text: String) -> String { Self.redacted(text, password: password) }

    private static func redacted(_ text: String, password: Substring?) -> String {
        var result = text
        if let password { result = result.replacingOccurrences(of: String(password), with: "***") }
        return result.split(whereSeparator: { $0 == "\n" || $0 == "\t" }).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}

/// The URL is not postgresql://, the server could not be reached or it refused the migration; printed as
/// "Error: …" on one line (no password in it), exit status 1.
struct MigrateFailed: Error, CustomStringConvertible {
    let description: String
}
