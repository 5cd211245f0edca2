import BankCore

/// A user as stored (without the password hash, which only `credentials` returns).
public struct UserRecord: Sendable, Equatable {
    public let id: UserID
    public let username: String
    public let role: Role
    public let status: UserStatus
    public let email: String?
    public let phone: String?
    public let fullName: String?
    public let createdAt: Timestamp

    public init(id: UserID, username: String, role: Role, status: UserStatus, email: String?, phone: String?,
                fullName: String?, createdAt: Timestamp) {
        self.id = id
        self.username = username
        self.role = role
        self.status = status
        self.email = email
        self.phone = phone
        self.fullName = fullName
        self.createdAt = createdAt
    }
}

/// A session row: the token itself is never stored, only its SHA-256.
public struct SessionRecord: Sendable, Equatable {
    public let user: UserRecord
    public let expiresAt: Timestamp
    public let revoked: Bool
}

/// Users and sessions.
public enum UserRecords {
    public struct NewUser: Sendable {
        public let username: String
        public let passwordHash: String
        public let role: Role
        public let email: String?
        public let phone: String?
        public let fullName: String?
        public let at: Timestamp

        public init(username: String, passwordHash: String, role: Role, email: String?, phone: String?,
                    fullName: String?, at: Timestamp) {
            self.username = username
            self.passwordHash = passwordHash
            self.role = role
            self.email = email
            self.phone = phone
            self.fullName = fullName
            self.at = at
        }
    }

    /// Inserts a user; a taken username throws `BankError(.conflict)`.
    public static func insert(_ db: any SQLDatabase, _ user: NewUser) throws -> UserRecord {
        let id: Int64?
        do {
            id = try db.prepare("""
                INSERT INTO users(username, password_hash, role, email, phone, full_name, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
                """).queryOne(user.username, user.passwordHash, user.role.rawValue, user.email, user.phone,
                              user.fullName, user.at.milliseconds) { $0.int64(0) }
        } catch let error as any SQLDatabaseError where error.isUniqueViolation {
            throw BankError(.conflict, "username \"\(user.username)\" is taken", field: "username")
        }
        guard let id else { preconditionFailure("INSERT ... RETURNING returns the new row") }
        return UserRecord(id: UserID(id), username: user.username, role: user.role, status: .active,
                          email: user.email, phone: user.phone, fullName: user.fullName, createdAt: user.at)
    }

    /// The user and password hash for `username`, for login.
    public static func credentials(_ db: any SQLDatabase, username: String) throws -> (UserRecord, String)? {
        try db.prepare(userColumns + ", password_hash FROM users WHERE username = ?").queryOne(username) { row in
            (user(row), row.string(8))
        }
    }

    public static func user(_ db: any SQLDatabase, username: String) throws -> UserRecord? {
        try db.prepare(userColumns + " FROM users WHERE username = ?").queryOne(username, row: user)
    }

    public static func user(_ db: any SQLDatabase, id: UserID) throws -> UserRecord? {
        try db.prepare(userColumns + " FROM users WHERE id = ?").queryOne(id.rawValue, row: user)
    }

    /// Takes `user`'s row lock for the rest of the writer's transaction, so that a per-user limit counted next
    /// in the same transaction (pending requests, payees, active standing orders, wrong codes) cannot be passed
    /// by another writer counting at the same time: hubs on one PostgreSQL database take turns per user here.
    /// False when there is no such user.
    ///
    /// Why a lock and not a conditional `INSERT … SELECT … WHERE (SELECT count(*) …) < max`: under READ
    /// COMMITTED (PostgreSQL's default, the hubs' level) each of two concurrent statements counts in its own
    /// snapshot, where the other's row is not yet committed, so both would insert. Waiting on this row instead
    /// puts the count after the other's COMMIT, and a statement that starts after that sees its row. The
    /// no-op `UPDATE` is the form both engines accept (SQLite has no `FOR UPDATE`; its one writer serializes
    /// anyway): on PostgreSQL it takes the row's `FOR NO KEY UPDATE` lock, which waits for another's and for the
    /// shared ledger's `FOR UPDATE` of the same row, and not for foreign-key checks (`FOR KEY SHARE`). It sets a
    /// column no index or trigger reads, so it costs one small heap-only tuple per limited insert.
    public static func lockForCounting(_ db: any SQLDatabase, user: UserID) throws -> Bool {
        try db.prepare("UPDATE users SET created_at = created_at WHERE id = ?").run(user.rawValue)
        return db.changes == 1
    }

    public static func insertSession(_ db: any SQLDatabase, tokenHash: [UInt8], user: UserID, at: Timestamp,
                                     expiresAt: Timestamp) throws {
        try db.prepare("INSERT INTO sessions(token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .run(tokenHash, user.rawValue, at.milliseconds, expiresAt.milliseconds)
    }

    public static func session(_ db: any SQLDatabase, tokenHash: [UInt8]) throws -> SessionRecord? {
        try db.prepare("""
            SELECT u.id, u.username, u.role,
                   CASE WHEN u.status = 'locked' THEN COALESCE(u.locked_until, \(lockedForever)) END,
                   u.email, u.phone, u.full_name, u.created_at, s.expires_at, s.revoked_at
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?
            """).queryOne(tokenHash) { row in
            SessionRecord(user: user(row), expiresAt: Timestamp(milliseconds: row.int64(8)), revoked: !row.isNull(9))
        }
    }

    public static func revokeSession(_ db: any SQLDatabase, tokenHash: [UInt8], at: Timestamp) throws {
        try db.prepare("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL")
            .run(at.milliseconds, tokenHash)
    }

    /// A lock with no end, as column 3 of `userColumns` shows it.
    static let lockedForever = Int64.max

    /// Column 3 is when the user's lock ends (NULL: not locked; `lockedForever`: until an admin unlocks); `user`
    /// derives the status from it, so a lock whose `locked_until` has passed reads as `active` (the cool-down is
    /// over). The comparison with now is made here, not in SQL, as SQLite and PostgreSQL share no "now in ms".
    static let userColumns = """
        SELECT id, username, role,
               CASE WHEN status = 'locked' THEN COALESCE(locked_until, \(lockedForever)) END,
               email, phone, full_name, created_at
        """

    static func user(_ row: any SQLRow) -> UserRecord {
        UserRecord(id: UserID(row.int64(0)), username: row.string(1), role: Role(rawValue: row.string(2)) ?? .customer,
                   status: row.isNull(3) || row.int64(3) <= Clock.nowMilliseconds() ? .active : .locked, email: row.optionalString(4),
                   phone: row.optionalString(5), fullName: row.optionalString(6),
                   createdAt: Timestamp(milliseconds: row.int64(7)))
    }
}
