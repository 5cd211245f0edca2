import BankPostgres
import PostgresTestPeer
import StorageConformance
import Testing

/// The shared record bodies on PostgreSQL, each in a fresh database migrated by `PostgresSchema.migrate`.
struct RecordConformancePostgresTests {
    /// Every record body gives the same answers on PostgreSQL as on SQLite.
    @Test func records() throws {
        let peer = try PostgresPeer.start()
        defer { peer.stop() }
        let admin = try PostgresConnection(conninfo: peer.conninfo)
        for (index, entry) in RecordConformance.all.enumerated() {
            try admin.execute("CREATE DATABASE records_\(index)")
            let conninfo = peer.conninfo.replacingOccurrences(of: "dbname=postgres", with: "dbname=records_\(index)")
            let connection = try PostgresConnection(conninfo: conninfo)
            try PostgresSchema.migrate(connection)
            do {
                try entry.body(PostgresSQLConnection(connection))
            } catch {
                Issue.record("\(entry.name): \(error)")
            }
        }
    }
}
