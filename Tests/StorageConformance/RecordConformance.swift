import BankCore
import BankStorage
import Testing

/// Record bodies run against any engine: BankStoreTests call them on SQLite, BankPostgresTests on PostgreSQL,
/// so a record whose SQL only one engine understands (or answers differently) fails on the other.
public enum RecordConformance {
    /// Every body, by name, each on a freshly migrated database.
    public static let all: [(name: String, body: @Sendable (any SQLDatabase) throws -> Void)] = [
        ("users", users), ("sessions", sessions), ("logins", logins), ("staffSearch", staffSearch),
        ("outbox", outbox), ("activity", activity),
        ("ledgerVerifies", LedgerConformance.verifies), ("ledgerEvents", LedgerConformance.events),
        ("ledgerReads", LedgerConformance.reads),
        ("challenges", SecurityConformance.challenges), ("threats", SecurityConformance.threats),
        ("requests", SecurityConformance.requests), ("audit", SecurityConformance.audit),
        ("secondFactor", SecurityConformance.secondFactor), ("revokeSessions", SecurityConformance.revokeSessions),
        ("retention", SecurityConformance.retention),
        ("goals", EverydayConformance.goals), ("payees", EverydayConformance.payees),
        ("orders", EverydayConformance.orders), ("profile", EverydayConformance.profile),
        ("outboxRetries", EverydayConformance.outboxRetries), ("mailings", EverydayConformance.mailings),
        ("transactions", WriteConformance.transactions), ("appendOnly", WriteConformance.appendOnly),
        ("identifiers", SharedStateConformance.identifiers), ("revocations", SharedStateConformance.revocations),
        ("failures", SharedStateConformance.failures),
    ]

    static func newUser(_ db: any SQLDatabase, _ name: String, at: Int64 = 1_000, full: String? = nil) throws -> UserRecord {
        try UserRecords.insert(db, .init(username: name, passwordHash: "hash-\(name)", role: .customer,
                                         email: "\(name)@example.com", phone: nil, fullName: full,
                                         at: Timestamp(milliseconds: at)))
    }

    /// A user reads back as written; a taken username is a conflict; locks end when their time passes.
    static func users(_ db: any SQLDatabase) throws {
        let alice = try newUser(db, "alice", full: "Alice Liddell")
        #expect(try UserRecords.user(db, id: alice.id) == alice)
        #expect(try UserRecords.credentials(db, username: "alice")?.1 == "hash-alice")
        #expect(throws: BankError.self) { try newUser(db, "alice") }
        try SecurityRecords.lock(db, user: alice.id, until: nil, reason: "admin")
        #expect(try UserRecords.user(db, id: alice.id)?.status == .locked)
        try SecurityRecords.lock(db, user: alice.id, until: Timestamp(milliseconds: 1), reason: "cool-down")
        #expect(try UserRecords.user(db, id: alice.id)?.status == .active)
    }

    /// A session is found by its token hash (bytes round-trip) until revoked.
    static func sessions(_ db: any SQLDatabase) throws {
        let alice = try newUser(db, "alice")
        let token: [UInt8] = [0, 1, 0xAB, 0xFF, 0x7F]
        try UserRecords.insertSession(db, tokenHash: token, user: alice.id, at: Timestamp(milliseconds: 5),
                                      expiresAt: Timestamp(milliseconds: 9_000))
        let found = try UserRecords.session(db, tokenHash: token)
        #expect(found?.user.id == alice.id && found?.revoked == false)
        #expect(try UserRecords.session(db, tokenHash: [0, 1]) == nil)
        try UserRecords.revokeSession(db, tokenHash: token, at: Timestamp(milliseconds: 6))
        #expect(db.changes == 1)
        #expect(try UserRecords.session(db, tokenHash: token)?.revoked == true)
    }

    /// Login attempts: prior logins (EXISTS reads as a flag) and monthly counts by UTC month.
    static func logins(_ db: any SQLDatabase) throws {
        let alice = try newUser(db, "alice"), bob = try newUser(db, "bob")
        let january = Int64(1_704_067_200_000), february = Int64(1_706_745_600_000)
        for (user, at, ip) in [(alice, january, "1.1.1.1"), (alice, january + 5, "1.1.1.1"), (alice, february, "2.2.2.2"),
                               (bob, february + 1, "3.3.3.3")] {
            try SecurityRecords.insertAttempt(db, .init(user: user.id, username: user.username, ip: ip, userAgent: nil,
                                                        outcome: "success", at: Timestamp(milliseconds: at)))
        }
        #expect(try SecurityRecords.priorLogins(db, user: alice.id, ip: "1.1.1.1") == (true, true))
        #expect(try SecurityRecords.priorLogins(db, user: alice.id, ip: "9.9.9.9") == (true, false))
        #expect(try SecurityRecords.attempts(db, user: alice.id, limit: 10).count == 3)
        let months = try SecurityRecords.monthlyLogins(db, since: Timestamp(milliseconds: 0))
        #expect(months.map { "\($0.month) \($0.username) \($0.logins)" } ==
                ["2024-02 alice 1", "2024-02 bob 1", "2024-01 alice 2"])
    }

    /// Staff search ignores ASCII case, as SQLite's LIKE does, and takes `%` literally.
    static func staffSearch(_ db: any SQLDatabase) throws {
        _ = try newUser(db, "alice", full: "Alice Liddell")
        _ = try newUser(db, "bob", full: "Bob 100%")
        #expect(try StaffRecords.customers(db, query: "LIDDELL", limit: 10).map(\.user.username) == ["alice"])
        #expect(try StaffRecords.customers(db, query: "0%", limit: 10).map(\.user.username) == ["bob"])
        #expect(try StaffRecords.customers(db, query: nil, limit: 10).count == 2)
        #expect(try StaffRecords.users(db, query: "ALI", limit: 10, before: nil).map(\.user.username) == ["alice"])
    }

    /// Outbox rows get ids from the database; due, sent and retried as a worker sees them.
    static func outbox(_ db: any SQLDatabase) throws {
        let first = try OutboxRecords.insert(db, channel: "email", recipient: "a@example.com", subject: "s", body: "b",
                                             at: Timestamp(milliseconds: 10))
        let second = try OutboxRecords.insert(db, channel: "sms", recipient: "+1", subject: "s", body: "b",
                                              at: Timestamp(milliseconds: 20))
        #expect(second > first)
        #expect(try OutboxRecords.due(db, limit: 10, now: Timestamp(milliseconds: 15)).map(\.id) == [first])
        #expect(try OutboxRecords.markSent(db, id: first, at: Timestamp(milliseconds: 16)))
        #expect(try OutboxRecords.markSent(db, id: first, at: Timestamp(milliseconds: 17)) == false,
                "a message another hub recorded first is not recorded again")
        #expect(try OutboxRecords.pendingCount(db) == 1)
        #expect(try OutboxRecords.nextDue(db) == Timestamp(milliseconds: 20))
    }

    /// The admins' monthly activity counts users created inside and before the month.
    static func activity(_ db: any SQLDatabase) throws {
        let month = CalendarMonth(containing: Timestamp(milliseconds: 1_706_745_600_000))
        _ = try newUser(db, "old", at: 1_000)
        _ = try newUser(db, "new", at: month.start.milliseconds + 1)
        _ = try newUser(db, "later", at: month.end.milliseconds)
        let activity = try StatementRecords.activity(db, month: month)
        #expect(activity.usersTotal == 2 && activity.usersNew == 1)
    }
}
