import BankCore

/// Work that any of several hubs on one database may do, claimed per row so that exactly one hub does each
/// piece: an outbox message, the next receipts (the receipt cursor), a standing order's due period, a service
/// request's resolution.
///
/// A claim names its hub (`holder`) and holds until a time (a lease). Each hub also keeps a heartbeat in the
/// database (`beat`, renewed every second, lasting `heartbeatMilliseconds`): rows claimed by another hub are
/// skipped while that hub's heartbeat is live and its lease has not passed, so a hub that dies after claiming
/// leaves its work to the others within seconds (its heartbeat stops), and one that is alive but stuck leaves it
/// once the lease ends. The engine that several hubs share (PostgreSQL: `PostgresWorkClaims`, `FOR UPDATE SKIP LOCKED`)
/// implements it; on SQLite there is one hub and no claim (the hub passes nil and does everything itself).
///
/// Each function runs on the connection it is given: a claim's own connection (autocommit, so the claim is
/// visible to the other hubs at once) or the writer's job that records the work (so the release commits with it).
public protocol WorkClaims: Sendable {
    /// This hub's name in `claimed_by`: unique per process.
    var holder: String { get }

    /// A connection of its own (read-write) for the claims of a worker that runs on a thread of its own.
    func openConnection() throws -> any SQLDatabase

    /// How long one heartbeat keeps this hub's claims from the others (ms): past it without a renewal, the hub
    /// counts as dead and any hub may take what it holds.
    var heartbeatMilliseconds: Int64 { get }

    /// Records that this hub is alive for `heartbeatMilliseconds` from now (by the database's clock), on a claim
    /// connection of its own (autocommit). Called every second by the hub's heartbeat thread.
    func beat(_ db: any SQLDatabase) throws

    /// Removes this hub's heartbeat (a clean stop, after its workers gave their claims back): anything it still
    /// holds is free at once.
    func endBeat(_ db: any SQLDatabase) throws

    /// Claims up to `limit` pending messages due at `now` that no other hub holds, oldest due first, until
    /// `until`; returns them.
    func claimMessages(_ db: any SQLDatabase, limit: Int, now: Timestamp, until: Timestamp) throws -> [OutboxRecord]

    /// Gives back this hub's claims of messages `ids` (recorded, or not attempted): due ones can be taken again
    /// at once by any hub.
    func releaseMessages(_ db: any SQLDatabase, ids: [Int64]) throws

    /// Claims the receipt cursor until `until`: true when this hub may read and send the receipts after it now
    /// (no other hub holds it).
    func claimReceipts(_ db: any SQLDatabase, now: Timestamp, until: Timestamp) throws -> Bool

    /// Gives back this hub's claim of the receipt cursor.
    func releaseReceipts(_ db: any SQLDatabase) throws

    /// The receipt horizon, read on `db` (the connection the receipts are then read on, so both see the same
    /// server): every transaction whose `commit_order` is below it has ended, and every one that commits later
    /// has a `commit_order` at or above it (`ReceiptRecords` explains why the read stops there). Several hubs
    /// commit in no id order, so the engine they share must say which transactions are finished.
    func receiptHorizon(_ db: any SQLDatabase) throws -> Int64

    /// Claims up to `limit` active standing orders due at `now` that no other hub holds, earliest due first, until
    /// `until`; returns them as stored (their current period).
    func claimOrders(_ db: any SQLDatabase, limit: Int, now: Timestamp, until: Timestamp) throws -> [StandingOrderRecord]

    /// Claims order `id` (or renews this hub's claim) until `until`; false when another hub holds it.
    func claimOrder(_ db: any SQLDatabase, id: Int64, now: Timestamp, until: Timestamp) throws -> Bool

    /// Gives back this hub's claim of order `id`; false when this hub no longer holds it (its lease ended and
    /// another hub took the order).
    @discardableResult
    func releaseOrder(_ db: any SQLDatabase, id: Int64) throws -> Bool

    /// Claims the resolution of pending service request `id` (or renews this hub's claim) until `until`, before
    /// any effect of it runs; false when the request is no longer pending or another hub holds it.
    func claimRequest(_ db: any SQLDatabase, id: Int64, now: Timestamp, until: Timestamp) throws -> Bool

    /// Gives back this hub's claim of request `id`; false when this hub no longer holds it (its lease ended and
    /// another hub took the request).
    @discardableResult
    func releaseRequest(_ db: any SQLDatabase, id: Int64) throws -> Bool
}
