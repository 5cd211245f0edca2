import BankCore
import BankStorage
import Testing

/// The records hubs on one database share (issue 14): reserved ids, the revocation log, failure counts.
enum SharedStateConformance {
    static func at(_ milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds) }

    /// Reserved ids start above what is stored and increase; an order's id comes from its insert.
    static func identifiers(_ db: any SQLDatabase) throws {
        for counter in IdentifierRecords.Counter.allCases {
            #expect(try IdentifierRecords.reserve(db, counter) == 1)
            #expect(try IdentifierRecords.reserve(db, counter) == 2)
        }
        let alice = try EverydayConformance.customer(db)
        let order = StandingOrderRecord(id: 0, user: alice.id, from: AccountID(1001), to: AccountID(1002),
                                        amount: Money(cents: 100), every: .month, start: at(1_000), count: nil,
                                        note: nil, status: .active, nextIndex: 0, paid: 0, failed: 0,
                                        nextDue: at(1_000), createdAt: at(10), endedAt: nil)
        let first = try OrderRecords.insert(db, order)
        #expect(try OrderRecords.insert(db, order) == first + 1)
    }

    /// The revocation log reads back after an id, in order; old rows go with the next append; the valid
    /// sessions of a user exclude revoked and expired ones.
    static func revocations(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        #expect(try SessionRevocationRecords.lastID(db) == 0)
        try SessionRevocationRecords.append(db, user: alice.id, tokenHash: [1, 2], reason: .logout, at: at(10))
        try SessionRevocationRecords.append(db, user: alice.id, tokenHash: nil, reason: .locked, at: at(20))
        let all = try SessionRevocationRecords.after(db, 0, limit: 10)
        #expect(all.map(\.reason) == [.logout, .locked])
        #expect(all.map(\.tokenHash) == [[1, 2], nil])
        #expect(try SessionRevocationRecords.after(db, all[0].id, limit: 10).map(\.id) == [all[1].id])
        let later = at(20 + SessionRevocationRecords.retentionMilliseconds + 1)
        try SessionRevocationRecords.append(db, user: alice.id, tokenHash: nil, reason: .roleChanged, at: later)
        let kept = try SessionRevocationRecords.after(db, 0, limit: 10)
        #expect(kept.map(\.reason) == [.roleChanged], "rows older than a day went with the append")
        #expect(kept[0].id > all[1].id, "ids are never given twice")

        try UserRecords.insertSession(db, tokenHash: [7], user: alice.id, at: at(0), expiresAt: at(1_000))
        try UserRecords.insertSession(db, tokenHash: [8], user: alice.id, at: at(0), expiresAt: at(1_000))
        try UserRecords.insertSession(db, tokenHash: [9], user: alice.id, at: at(0), expiresAt: at(50))
        try UserRecords.revokeSession(db, tokenHash: [8], at: at(60))
        #expect(try SessionRevocationRecords.validTokenHashes(db, user: alice.id, now: at(100)) == [[7]])
    }

    /// Failed logins count within the window, since the last success and since an unlock; wrong codes count
    /// within the window and are forgotten by an unlock.
    static func failures(_ db: any SQLDatabase) throws {
        let alice = try RecordConformance.newUser(db, "alice")
        func attempt(_ outcome: String, _ time: Int64) throws {
            try SecurityRecords.insertAttempt(db, LoginAttempt(user: alice.id, username: "alice", ip: "1.2.3.4",
                                                               userAgent: nil, outcome: outcome, at: at(time)))
        }
        try attempt("bad_password", 100)
        try attempt("success", 200)
        try attempt("bad_password", 300)
        try attempt("bad_password", 400)
        try attempt("locked", 450)
        #expect(try SecurityRecords.loginFailures(db, user: alice.id, since: at(0)) == 2, "not before the success")
        #expect(try SecurityRecords.loginFailures(db, user: alice.id, since: at(350)) == 1, "only in the window")
        try SecurityRecords.unlock(db, user: alice.id, at: at(500))
        #expect(try SecurityRecords.loginFailures(db, user: alice.id, since: at(0)) == 0, "an unlock forgives")
        try attempt("bad_password", 600)
        #expect(try SecurityRecords.loginFailures(db, user: alice.id, since: at(0)) == 1)

        // Code checks are reserved as failures up to the limit; a released one no longer counts.
        var reserved: [Int64] = []
        for time: Int64 in [10, 20, 30] {
            let reservation = try SecurityRecords.reserveCodeCheck(db, user: alice.id, at: at(time), since: at(0), limit: 3)
            reserved.append(try #require(reservation.reserved))
        }
        #expect(try SecurityRecords.codeFailures(db, user: alice.id, since: at(0), limit: 2) == [at(30), at(20)])
        #expect(try SecurityRecords.codeFailures(db, user: alice.id, since: at(15), limit: 10).count == 2)
        let refused = try SecurityRecords.reserveCodeCheck(db, user: alice.id, at: at(35), since: at(0), limit: 3)
        #expect(refused.reserved == nil && refused.failures == [at(30), at(20), at(10)], "the limit is reached")
        try SecurityRecords.releaseCodeCheck(db, id: reserved[2])
        #expect(try SecurityRecords.reserveCodeCheck(db, user: alice.id, at: at(36), since: at(0), limit: 3).reserved != nil)
        let pruned = try SecurityRecords.reserveCodeCheck(db, user: alice.id, at: at(50), since: at(15), limit: 3)
        #expect(pruned.reserved != nil && pruned.failures == [at(36), at(20)], "failures before the window are gone")
        try SecurityRecords.unlock(db, user: alice.id, at: at(40))
        #expect(try SecurityRecords.codeFailures(db, user: alice.id, since: at(0), limit: 10).isEmpty)
    }
}
