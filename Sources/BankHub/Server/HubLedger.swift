import BankCore
import BankPostgres
import BankStorage

/// Which ledger a hub runs on, chosen once at start: the in-memory `LedgerService` (SQLite, or the only hub on a
/// PostgreSQL database) or the `SharedLedger` (one of several hubs on one PostgreSQL database,
/// `PostgresStorageOptions.hubLock == .shared`), with the `EventSequencer` that matches it.
enum HubLedger: Sendable {
    /// The stored ledger loaded as the authority, with the streams' heads.
    case memory(LedgerSnapshot, heads: [String: Int64])
    /// PostgreSQL is the authority: the hub's own ledger connection; nothing is loaded.
    case shared(PostgresLedger)

    /// Whether `options` make this hub one of several on its database.
    static func isShared(_ options: HubServer.Options) -> Bool {
        options.databaseURL != nil && options.postgres.hubLock == .shared
    }

    /// Reads what the chosen ledger needs before the hub starts. In memory: the snapshot and heads (after
    /// `violations` found nothing). Shared: connects the ledger (migrating), adopts what a lone hub may have
    /// written (`PostgresLedger.adoptLoneHubWrites`) and loads nothing.
    static func prepare(_ options: HubServer.Options, writer: any StorageWriter,
                        recentSince: Timestamp) async throws -> HubLedger {
        guard isShared(options), let url = options.databaseURL else {
            let (snapshot, heads) = try await writer.write { db in
                (try LedgerRecords.load(db, recentSince: recentSince), try EventRecords.heads(db))
            }
            return .memory(snapshot, heads: heads)
        }
        let ledger = try PostgresLedger(conninfo: url)
        do {
            try await ledger.adoptLoneHubWrites()
        } catch {
            ledger.close()
            throw error
        }
        return .shared(ledger)
    }

    /// The sequencer and the ledger, wired to the hub's writer, readers and fan-out.
    func make(writer: any StorageWriter, readers: any StorageReaders,
              fanout: any EventFanout) -> (EventSequencer, any LedgerAuthority) {
        switch self {
        case .memory(let snapshot, let heads):
            let sequencer = EventSequencer(heads: heads, writer: writer, fanout: fanout)
            return (sequencer, LedgerService(snapshot: snapshot, sequencer: sequencer, readers: readers))
        case .shared(let ledger):
            let sequencer = EventSequencer(heads: [:], writer: writer, fanout: fanout, seqs: .database)
            return (sequencer, SharedLedger(ledger: ledger, sequencer: sequencer, readers: readers))
        }
    }

    /// Closes the shared ledger's connection (after everything that submits to it has stopped).
    func close() {
        if case .shared(let ledger) = self { ledger.close() }
    }
}
