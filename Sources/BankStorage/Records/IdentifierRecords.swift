/// Ids the database hands out before the commit that uses them, for rows whose id is named by an event written
/// in the same commit (the event's JSON is fixed before its job runs, see the hub's `EventSequencer`).
///
/// One counter row per kind of row in `id_counters`; `reserve` raises it and returns the new value in one
/// statement, so hubs sharing one database never get the same id (on PostgreSQL the row stays locked until the
/// reserving commit ends; SQLite has one writer). An id reserved and not used (its commit failed, the hub
/// stopped) is a gap: ids are unique and increasing in reservation order, not dense. Rows whose insert names no
/// event take their id from the table itself instead (`INSERT … RETURNING id`, e.g. `OrderRecords.insert`).
public enum IdentifierRecords {
    /// The counters (`id_counters.name`), each the table whose ids it gives.
    public enum Counter: String, Sendable, CaseIterable {
        case serviceRequests = "service_requests"
        case threats
        case payees
    }

    /// The next id of `counter`, committed with the job that runs this.
    public static func reserve(_ db: any SQLDatabase, _ counter: Counter) throws -> Int64 {
        guard let id = try db.prepare("UPDATE id_counters SET last_id = last_id + 1 WHERE name = ? RETURNING last_id")
            .queryOne(counter.rawValue, row: { $0.int64(0) })
        else { preconditionFailure("id counter \(counter.rawValue) is missing: the schema is older than its code") }
        return id
    }
}
