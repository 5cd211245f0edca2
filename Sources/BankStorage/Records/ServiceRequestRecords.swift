import BankCore

/// What a customer asks the bank for. Raw values are stored and sent on the wire.
public enum ServiceRequestKind: String, Sendable, CaseIterable {
    case passwordReset = "password_reset"
    case kycUpdate = "kyc_update"
    case accountClosure = "account_closure"
    case limitIncrease = "limit_increase"
}

/// `pending` → `approved` | `rejected` | `cancelled`; only a pending request changes.
public enum ServiceRequestStatus: String, Sendable, CaseIterable {
    case pending
    case approved
    case rejected
    case cancelled
}

/// A service request as stored, with its owner's username.
public struct ServiceRequestRecord: Sendable, Equatable {
    public let id: Int64
    public let user: UserID
    public let username: String
    public let kind: ServiceRequestKind
    public let note: String
    public let account: AccountID?
    public let status: ServiceRequestStatus
    public let createdAt: Timestamp
    public let resolvedAt: Timestamp?
    public let resolvedBy: UserID?
    public let reason: String?

    public init(id: Int64, user: UserID, username: String, kind: ServiceRequestKind, note: String, account: AccountID?,
                status: ServiceRequestStatus, createdAt: Timestamp, resolvedAt: Timestamp?, resolvedBy: UserID?,
                reason: String?) {
        self.id = id
        self.user = user
        self.username = username
        self.kind = kind
        self.note = note
        self.account = account
        self.status = status
        self.createdAt = createdAt
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.reason = reason
    }

    /// This request after a resolution: same request, new status, who and when.
    public func resolved(_ status: ServiceRequestStatus, by resolver: UserID, at: Timestamp,
                         reason: String?) -> ServiceRequestRecord {
        precondition(self.status == .pending && status != .pending, "only a pending request is resolved")
        return ServiceRequestRecord(id: id, user: user, username: username, kind: kind, note: note, account: account,
                                    status: status, createdAt: createdAt, resolvedAt: at, resolvedBy: resolver,
                                    reason: reason)
    }
}

/// The service-request queue: filed by customers, resolved by staff (or cancelled by their owner).
public enum ServiceRequestRecords {
    public struct NewRequest: Sendable {
        /// Chosen by the hub before the insert, so the events written in the same commit can name it.
        public let id: Int64
        public let user: UserID
        public let kind: ServiceRequestKind
        public let note: String
        public let account: AccountID?
        public let at: Timestamp

        public init(id: Int64, user: UserID, kind: ServiceRequestKind, note: String, account: AccountID?,
                    at: Timestamp) {
            precondition(id > 0, "request ids are positive")
            self.id = id
            self.user = user
            self.kind = kind
            self.note = note
            self.account = account
            self.at = at
        }
    }

    /// Inserts a pending request under the id the hub chose and returns it as stored.
    public static func insert(_ db: any SQLDatabase, _ request: NewRequest) throws -> ServiceRequestRecord {
        try db.prepare("""
            INSERT INTO service_requests(id, user_id, kind, note, account_id, status, created_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?)
            """).run(request.id, request.user.rawValue, request.kind.rawValue, request.note, request.account?.rawValue,
                     request.at.milliseconds)
        guard let stored = try get(db, id: request.id) else {
            preconditionFailure("request \(request.id) vanished after its insert")
        }
        assert(stored.status == .pending && stored.user == request.user, "a new request is its owner's and pending")
        return stored
    }

    /// Inserts a pending request as `insert` does unless its owner already has `pendingMax` pending ones: then
    /// nil and nothing is written (also for an owner with no row; users are never deleted). The owner's row is locked first (`UserRecords.lockForCounting`), so the
    /// count and the insert are one step for every writer of the database, whichever hub it belongs to.
    public static func insert(_ db: any SQLDatabase, _ request: NewRequest,
                              pendingMax: Int) throws -> ServiceRequestRecord? {
        guard try UserRecords.lockForCounting(db, user: request.user),
              try pendingCount(db, user: request.user) < pendingMax else { return nil }
        return try insert(db, request)
    }

    /// The highest request id stored; 0 when there is none.
    public static func lastID(_ db: any SQLDatabase) throws -> Int64 {
        try db.prepare("SELECT COALESCE(MAX(id), 0) FROM service_requests").queryOne { $0.int64(0) } ?? 0
    }

    public static func get(_ db: any SQLDatabase, id: Int64) throws -> ServiceRequestRecord? {
        try db.prepare(columns + " WHERE r.id = ?").queryOne(id, row: record)
    }

    /// Requests newest first, optionally only `user`'s and only those with `status`; at most `limit`.
    public static func list(_ db: any SQLDatabase, user: UserID?, status: ServiceRequestStatus?,
                            limit: Int) throws -> [ServiceRequestRecord] {
        precondition(limit > 0, "a page holds at least one request")
        // Two statements so that a customer's list walks the (user_id, id) index. The CAST gives PostgreSQL a type
        // for a NULL status; SQLite reads it the same.
        if let user {
            return try db.prepare(columns + """
                 WHERE r.user_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR r.status = ?2) ORDER BY r.id DESC LIMIT ?3
                """).query(user.rawValue, status?.rawValue, limit, row: record)
        }
        return try db.prepare(columns + " WHERE (CAST(?1 AS TEXT) IS NULL OR r.status = ?1) ORDER BY r.id DESC LIMIT ?2")
            .query(status?.rawValue, limit, row: record)
    }

    /// How many of `user`'s requests are pending.
    public static func pendingCount(_ db: any SQLDatabase, user: UserID) throws -> Int {
        Int(try db.prepare("SELECT COUNT(*) FROM service_requests WHERE user_id = ? AND status = 'pending'")
            .queryOne(user.rawValue) { $0.int64(0) } ?? 0)
    }

    /// Moves a pending request to `resolution`'s status. False when it was no longer pending (someone else
    /// resolved it first): the `WHERE status = 'pending'` makes two resolutions of one request impossible.
    public static func resolve(_ db: any SQLDatabase, _ resolution: ServiceRequestRecord) throws -> Bool {
        precondition(resolution.status != .pending, "a resolution ends the pending state")
        guard let resolvedAt = resolution.resolvedAt, let resolvedBy = resolution.resolvedBy else {
            preconditionFailure("a resolution says when and by whom")
        }
        try db.prepare("""
            UPDATE service_requests SET status = ?, resolved_at = ?, resolved_by = ?, reason = ?
            WHERE id = ? AND status = 'pending'
            """).run(resolution.status.rawValue, resolvedAt.milliseconds, resolvedBy.rawValue, resolution.reason,
                     resolution.id)
        return db.changes == 1
    }

    private static let columns = """
        SELECT r.id, r.user_id, u.username, r.kind, r.note, r.account_id, r.status, r.created_at, r.resolved_at,
               r.resolved_by, r.reason
        FROM service_requests r JOIN users u ON u.id = r.user_id
        """

    private static func record(_ row: any SQLRow) -> ServiceRequestRecord {
        ServiceRequestRecord(id: row.int64(0), user: UserID(row.int64(1)), username: row.string(2),
                             kind: ServiceRequestKind(rawValue: row.string(3)) ?? .kycUpdate, note: row.string(4),
                             account: row.optionalInt64(5).map(AccountID.init),
                             status: ServiceRequestStatus(rawValue: row.string(6)) ?? .pending,
                             createdAt: Timestamp(milliseconds: row.int64(7)),
                             resolvedAt: row.optionalInt64(8).map(Timestamp.init(milliseconds:)),
                             resolvedBy: row.optionalInt64(9).map(UserID.init), reason: row.optionalString(10))
    }
}
