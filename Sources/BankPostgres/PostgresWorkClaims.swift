import BankCore
import BankStorage
import Glibc

/// `WorkClaims` on PostgreSQL (migrations 4, 6 and 8): a claim is an UPDATE of `claimed_by` and `claimed_until` on rows
/// picked with `FOR UPDATE SKIP LOCKED`, so two hubs claiming at once never wait for each other and never take
/// the same row. Under READ COMMITTED the row lock re-reads a row another hub claimed meanwhile and re-checks the
/// condition, so its committed claim is seen and the row skipped.
///
/// A row is free when nobody claimed it, its lease has passed, this hub holds it (a hub renews its own claim), or
/// its holder has no live heartbeat (migration 8: no row in `hub_heartbeats`, or one whose `seen_until` has
/// passed). Heartbeats are written and compared by the server's clock (`statement_timestamp()`), not the hubs':
/// a window of seconds must not depend on how well the hubs' clocks agree. Leases still use the hubs' clocks, as
/// before, and stay the bound for a hub that is alive but stuck.
public struct PostgresWorkClaims: WorkClaims {
    public let holder: String
    public let heartbeatMilliseconds: Int64
    private let connect: @Sendable () throws -> any SQLDatabase
    private let statementMillisecondsMax: Int

    /// How long a heartbeat lasts by default: five renewals (one a second), so a hub misses four in a row (a
    /// statement bounded at a second, a short stall of its thread or the network) before its work is taken, yet
    /// a killed hub's receipts wait about 5 s rather than a 120 s lease.
    public static let defaultHeartbeatMilliseconds: Int64 = 5_000

    /// Heartbeats that ended longer ago than this are deleted by the next beat of any hub (an expired row and a
    /// missing one mean the same; kept a while so an operator can see which hub stopped beating).
    static let expiredHeartbeatsKeptMilliseconds: Int64 = 3_600_000

    /// The server's clock in milliseconds, one value for the whole statement.
    static let serverNow = "(extract(epoch FROM statement_timestamp()) * 1000)::bigint"

    /// Claims for one hub on the database `connect` reaches; each claim statement is bounded by
    /// `statementMillisecondsMax`; this hub's heartbeats last `heartbeatMilliseconds`.
    public init(connect: @escaping @Sendable () throws -> any SQLDatabase, statementMillisecondsMax: Int,
                holder: String = PostgresWorkClaims.processHolder(),
                heartbeatMilliseconds: Int64 = PostgresWorkClaims.defaultHeartbeatMilliseconds) {
        precondition(statementMillisecondsMax > 0 && !holder.isEmpty, "a positive bound and a name")
        precondition(heartbeatMilliseconds >= 2_000, "a heartbeat outlives at least one missed renewal")
        self.connect = connect
        self.statementMillisecondsMax = statementMillisecondsMax
        self.holder = holder
        self.heartbeatMilliseconds = heartbeatMilliseconds
    }

    /// The condition under which `table`'s current row is free for this hub (parameters: `?1` this hub, `?now`
    /// the claiming hub's clock): never claimed, lease passed, already this hub's, or its holder's heartbeat is
    /// missing or has passed.
    private static func free(_ table: String, now: String) -> String {
        """
        (\(table).claimed_until IS NULL OR \(table).claimed_until <= \(now) OR \(table).claimed_by = ?1
         OR NOT EXISTS (SELECT 1 FROM hub_heartbeats h
                        WHERE h.holder = \(table).claimed_by AND h.seen_until > \(serverNow)))
        """
    }

    /// This process's name in `claimed_by`: host, process id and a random part (a restarted hub whose pid is
    /// reused is still another holder, so it does not adopt a dead hub's claims before their lease ends).
    public static func processHolder() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)),
                                                                  as: UTF8.self) : "host"
        return "\(host):\(getpid()):\(String(UInt32.random(in: .min ... .max), radix: 16))"
    }

    public func openConnection() throws -> any SQLDatabase {
        let db = try connect()
        try db.execute("SET statement_timeout = \(statementMillisecondsMax)")
        return db
    }

    // MARK: Heartbeats

    public func beat(_ db: any SQLDatabase) throws {
        try db.prepare("""
            INSERT INTO hub_heartbeats(holder, seen_until) VALUES (?1, \(Self.serverNow) + ?2)
            ON CONFLICT (holder) DO UPDATE SET seen_until = EXCLUDED.seen_until
            """).run(holder, heartbeatMilliseconds)
        try db.prepare("DELETE FROM hub_heartbeats WHERE seen_until < \(Self.serverNow) - ?")
            .run(Self.expiredHeartbeatsKeptMilliseconds)
    }

    public func endBeat(_ db: any SQLDatabase) throws {
        try db.prepare("DELETE FROM hub_heartbeats WHERE holder = ?").run(holder)
    }

    /// Claims up to `limit` rows of `table` in `status` that are due by `now` and free (never claimed, lease
    /// passed, already this hub's, or its holder dead), earliest due first, skipping rows another hub is claiming
    /// right now (`FOR UPDATE OF` the table alone: the heartbeats read beside it are not locked).
    private func claimDue<Record>(_ db: any SQLDatabase, table: String, status: String, dueColumn: String,
                                  columns: String, limit: Int, now: Timestamp, until: Timestamp,
                                  row: (any SQLRow) throws -> Record) throws -> [Record] {
        try db.prepare("""
            UPDATE \(table) SET claimed_by = ?1, claimed_until = ?2
            WHERE id IN (SELECT id FROM \(table)
                         WHERE status = '\(status)' AND \(dueColumn) <= ?3
                           AND \(Self.free(table, now: "?3"))
                         ORDER BY \(dueColumn), id LIMIT ?4 FOR UPDATE OF \(table) SKIP LOCKED)
            RETURNING \(columns)
            """).query(holder, until.milliseconds, now.milliseconds, limit, row: row)
    }

    // MARK: Outbox

    public func claimMessages(_ db: any SQLDatabase, limit: Int, now: Timestamp,
                              until: Timestamp) throws -> [OutboxRecord] {
        precondition(limit > 0 && until > now, "a positive batch and a lease in the future")
        return try claimDue(db, table: "outbox", status: "pending", dueColumn: "next_attempt_at",
                            columns: OutboxRecords.columnList, limit: limit, now: now, until: until,
                            row: OutboxRecords.record)
            .sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
    }

    public func releaseMessages(_ db: any SQLDatabase, ids: [Int64]) throws {
        let statement = try db.prepare("""
            UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?
            """)
        for id in ids { try statement.run(id, holder) }
    }

    public func claimReceipts(_ db: any SQLDatabase, now: Timestamp, until: Timestamp) throws -> Bool {
        precondition(until > now, "a lease in the future")
        try db.prepare("""
            UPDATE receipt_cursor SET claimed_by = ?1, claimed_until = ?2
            WHERE id = 1 AND \(Self.free("receipt_cursor", now: "?3"))
            """).run(holder, until.milliseconds, now.milliseconds)
        return db.changes == 1
    }

    public func releaseReceipts(_ db: any SQLDatabase) throws {
        try db.prepare("UPDATE receipt_cursor SET claimed_by = NULL, claimed_until = NULL WHERE id = 1 AND claimed_by = ?")
            .run(holder)
    }

    /// The xmin of a snapshot taken now: the oldest transaction id still running (or the next one to be given,
    /// when none runs). Transactions below it have ended; one still running or started later has an id ≥ it. A
    /// transaction left open anywhere on the server (after it wrote anything) holds it back, so receipts of later
    /// commits wait for it to end.
    public func receiptHorizon(_ db: any SQLDatabase) throws -> Int64 {
        guard let xmin = try db.prepare("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            .queryOne(row: { $0.int64(0) }) else {
            preconditionFailure("a SELECT without FROM returns one row")
        }
        return xmin
    }

    // MARK: Standing orders

    public func claimOrders(_ db: any SQLDatabase, limit: Int, now: Timestamp,
                            until: Timestamp) throws -> [StandingOrderRecord] {
        precondition(limit > 0 && until > now, "a positive batch and a lease in the future")
        return try claimDue(db, table: "standing_orders", status: "active", dueColumn: "next_due_at",
                            columns: OrderRecords.columnList, limit: limit, now: now, until: until,
                            row: OrderRecords.record)
            .sorted { ($0.nextDue?.milliseconds ?? 0, $0.id) < ($1.nextDue?.milliseconds ?? 0, $1.id) }
    }

    public func claimOrder(_ db: any SQLDatabase, id: Int64, now: Timestamp, until: Timestamp) throws -> Bool {
        try claimRow(db, table: "standing_orders", id: id, now: now, until: until)
    }

    @discardableResult
    public func releaseOrder(_ db: any SQLDatabase, id: Int64) throws -> Bool {
        try releaseRow(db, table: "standing_orders", id: id)
    }

    // MARK: Service requests

    public func claimRequest(_ db: any SQLDatabase, id: Int64, now: Timestamp, until: Timestamp) throws -> Bool {
        try claimRow(db, table: "service_requests", id: id, now: now, until: until, onlyIf: "status = 'pending'")
    }

    @discardableResult
    public func releaseRequest(_ db: any SQLDatabase, id: Int64) throws -> Bool {
        try releaseRow(db, table: "service_requests", id: id)
    }

    // MARK: One row

    /// Claims row `id` of `table` (where `onlyIf` holds) when it is free: never claimed, its lease passed,
    /// already this hub's, or its holder dead; true when this hub holds it now. `table` and `onlyIf` are this file's constants.
    private func claimRow(_ db: any SQLDatabase, table: String, id: Int64, now: Timestamp, until: Timestamp,
                          onlyIf condition: String = "TRUE") throws -> Bool {
        precondition(until > now, "a lease in the future")
        try db.prepare("""
            UPDATE \(table) SET claimed_by = ?1, claimed_until = ?2
            WHERE id = ?3 AND \(condition) AND \(Self.free(table, now: "?4"))
            """).run(holder, until.milliseconds, id, now.milliseconds)
        return db.changes == 1
    }

    /// Gives row `id` of `table` back, if this hub still holds it; true when it did.
    private func releaseRow(_ db: any SQLDatabase, table: String, id: Int64) throws -> Bool {
        try db.prepare("UPDATE \(table) SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?")
            .run(id, holder)
        return db.changes == 1
    }
}
