import BankCore
import BankStorage
import Testing

/// Codes, threats, requests, the audit log, second factors and the janitor's purges, as a user or an
/// administrator would notice them.
enum SecurityConformance {
    static func at(_ milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds) }

    /// A one-time code: read back with its hash bytes, failures counted until dead, used once, retired.
    static func challenges(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        let first = ChallengeRecord(id: "c1", user: alice.id, purpose: "transfer", payload: "{}", codeHash: [0, 9, 0xFE],
                                    attempts: 0, status: "pending", expiresAt: at(9_000))
        try ChallengeRecords.insert(db, first, at: at(10))
        #expect(try ChallengeRecords.challenge(db, id: "c1") == first)
        #expect(try ChallengeRecords.recordFailure(db, id: "c1", attemptsMax: 2) == 1)
        #expect(try ChallengeRecords.latestPending(db, user: alice.id, purpose: "transfer")?.id == "c1")
        #expect(try ChallengeRecords.recordFailure(db, id: "c1", attemptsMax: 2) == 2)
        #expect(try ChallengeRecords.challenge(db, id: "c1")?.status == "dead")
        #expect(try ChallengeRecords.markUsed(db, id: "c1") == false)
        let second = ChallengeRecord(id: "c2", user: alice.id, purpose: "withdraw", payload: "{}", codeHash: [1],
                                     attempts: 0, status: "pending", expiresAt: at(9_000))
        try ChallengeRecords.insert(db, second, at: at(20))
        #expect(try ChallengeRecords.markUsed(db, id: "c2") == true)
        #expect(try ChallengeRecords.markUsed(db, id: "c2") == false)
    }

    /// Threats are listed newest first, acknowledged once by a named admin.
    static func threats(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice"), admin = try RecordConformance.newUser(db, "admin")
        try SecurityRecords.insertThreat(db, ThreatRecord(id: 1, kind: "brute_force", severity: "high", user: alice.id,
                                                          ip: "1.2.3.4", detail: "5 failures", at: at(10)))
        try SecurityRecords.insertThreat(db, ThreatRecord(id: 2, kind: "new_ip", severity: "low", user: nil, ip: nil,
                                                          detail: "d", at: at(20)))
        #expect(try SecurityRecords.lastThreatID(db) == 2)
        let acked = try SecurityRecords.ackThreat(db, id: 1, by: admin.id, at: at(30))
        #expect(acked?.ackedBy == admin.id && acked?.ackedAt == at(30))
        let listed = try SecurityRecords.threats(db, before: nil, limit: 10)
        #expect(listed.map(\.id) == [2, 1])
        #expect(listed.last?.username == "alice" && listed.last?.ackedByUsername == "admin")
    }

    /// Service requests filter by user and status (a NULL status filter means any).
    static func requests(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice"), bob = try RecordConformance.newUser(db, "bob")
        _ = try ServiceRequestRecords.insert(db, .init(id: 1, user: alice.id, kind: .kycUpdate, note: "n", account: nil,
                                                       at: at(10)))
        _ = try ServiceRequestRecords.insert(db, .init(id: 2, user: bob.id, kind: .limitIncrease, note: "n", account: nil,
                                                       at: at(20)))
        #expect(try ServiceRequestRecords.lastID(db) == 2)
        #expect(try ServiceRequestRecords.list(db, user: alice.id, status: nil, limit: 10).map(\.id) == [1])
        #expect(try ServiceRequestRecords.list(db, user: alice.id, status: .approved, limit: 10).isEmpty)
        #expect(try ServiceRequestRecords.list(db, user: nil, status: nil, limit: 10).map(\.id) == [2, 1])
        #expect(try ServiceRequestRecords.list(db, user: nil, status: .pending, limit: 1).map(\.username) == ["bob"])
        #expect(try ServiceRequestRecords.pendingCount(db, user: alice.id) == 1)
    }

    /// The audit log pages newest first with the actor's name.
    static func audit(_ db: any SQLDatabase) throws {
        let admin = try RecordConformance.newUser(db, "admin")
        try AuditRecords.append(db, actor: admin.id, action: "lock", target: "user:2", detail: nil, at: at(10))
        try AuditRecords.append(db, actor: admin.id, action: "unlock", target: "user:2", detail: "ok", at: at(20))
        let newest = try AuditRecords.page(db, limit: 1, before: nil)
        #expect(newest.map(\.action) == ["unlock"] && newest.first?.actorUsername == "admin")
        #expect(try AuditRecords.page(db, limit: 10, before: newest[0].id).map(\.action) == ["lock"])
    }

    /// A TOTP secret round-trips as bytes; a time step is accepted once.
    static func secondFactor(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        try SecondFactorRecords.activate(db, user: alice.id, secret: [0, 0xFF, 0x10], step: 5)
        let factor = try SecondFactorRecords.secondFactor(db, user: alice.id)
        #expect(factor?.secret == [0, 0xFF, 0x10] && factor?.enabled == true && factor?.lastStep == 5)
        #expect(try SecondFactorRecords.use(db, user: alice.id, step: 6) == true)
        #expect(try SecondFactorRecords.use(db, user: alice.id, step: 6) == false)
    }

    /// Revoking all sessions but one keeps that one; with none kept, all go.
    static func revokeSessions(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        for token: [UInt8] in [[1], [2], [3]] {
            try UserRecords.insertSession(db, tokenHash: token, user: alice.id, at: at(1), expiresAt: at(100))
        }
        try SecurityRecords.revokeSessions(db, user: alice.id, keeping: [2], at: at(5))
        #expect(try [[1], [2], [3]].map { try UserRecords.session(db, tokenHash: $0)?.revoked } == [true, false, true])
        try SecurityRecords.revokeSessions(db, user: alice.id, keeping: nil, at: at(6))
        #expect(try UserRecords.session(db, tokenHash: [2])?.revoked == true)
    }

    /// The janitor purges by age and trims failed logins per user, unknown users (NULL) included.
    static func retention(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        try UserRecords.insertSession(db, tokenHash: [1], user: alice.id, at: at(1), expiresAt: at(10))
        try UserRecords.insertSession(db, tokenHash: [2], user: alice.id, at: at(1), expiresAt: at(1_000))
        #expect(try RetentionRecords.purgeSessions(db, expiredBefore: at(100), limit: 10) == 1)
        for index in 0..<4 {
            for user in [alice.id, nil] {
                try SecurityRecords.insertAttempt(db, .init(user: user, username: "alice", ip: "1.1.1.1", userAgent: nil,
                                                            outcome: "bad_password", at: at(Int64(100 + index))))
            }
        }
        let over = try RetentionRecords.overFailureCap(db, perUserMax: 3, unknownMax: 2, limit: 10)
        #expect(Set(over.map { $0?.rawValue }) == [alice.id.rawValue, nil])
        #expect(try RetentionRecords.trimFailures(db, of: nil, keeping: 2, limit: 10) == 2)
        #expect(try RetentionRecords.trimFailures(db, of: alice.id, keeping: 3, limit: 10) == 1)
        #expect(try RetentionRecords.overFailureCap(db, perUserMax: 3, unknownMax: 2, limit: 10).isEmpty)
        // Left: the unknown user's newest two (102, 103) and alice's newest three (101–103).
        #expect(try RetentionRecords.purgeLoginAttempts(db, madeBefore: at(102), limit: 10) == 1)
    }
}
