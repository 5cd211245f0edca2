import BankCore
import BankPostgres
import BankStorage
import PostgresTestPeer
import Testing

/// `PostgresWorkClaims` against a real throwaway server: two hubs claiming at once take disjoint rows without
/// waiting for each other (`SKIP LOCKED`), a live claim of another hub is skipped, a passed one is taken, and the
/// receipt cursor has one holder at a time.
struct PostgresWorkClaimsTests {
    /// A migrated database with `count` due e-mails, and a claimer per hub name asked for.
    static func withDatabase(messages count: Int, _ body: (PostgresPeer, [Int64]) throws -> Void) throws {
        let peer = try PostgresPeer.start()
        defer { peer.stop() }
        let db = try PostgresHubDatabase.connect(peer.conninfo)
        try PostgresHubDatabase.migrate(db)
        let at = Clock.now()
        let ids = try (0..<count).map { n in
            try OutboxRecords.insert(db, channel: "email", recipient: "u\(n)@example.com", subject: "m\(n)", body: "b",
                                     at: at)
        }
        try body(peer, ids)
    }

    static func claims(_ peer: PostgresPeer, _ holder: String) -> PostgresWorkClaims {
        let conninfo = peer.conninfo
        return PostgresWorkClaims(connect: { try PostgresHubDatabase.connect(conninfo) }, statementMillisecondsMax: 2_000,
                                  holder: holder)
    }

    static func lease(_ seconds: Int64 = 60) -> (now: Timestamp, until: Timestamp) {
        let now = Clock.now()
        return (now, Timestamp(milliseconds: now.milliseconds + seconds * 1_000))
    }

    /// Hub A's claim of 4 rows is still uncommitted (its rows locked) when hub B claims: B gets the other 6 at
    /// once instead of waiting (its statements stop after 2 s), and after A commits a third hub finds none free.
    @Test func hubsClaimingAtOnceTakeDisjointRowsWithoutWaiting() throws {
        try Self.withDatabase(messages: 10) { peer, ids in
            let a = Self.claims(peer, "hub-a"), b = Self.claims(peer, "hub-b"), c = Self.claims(peer, "hub-c")
            let onA = try a.openConnection(), onB = try b.openConnection(), onC = try c.openConnection()
            let (now, until) = Self.lease()
            try onA.execute("BEGIN")
            let takenByA = try a.claimMessages(onA, limit: 4, now: now, until: until)
            let takenByB = try b.claimMessages(onB, limit: 10, now: now, until: until)
            try onA.execute("COMMIT")
            #expect(takenByA.map(\.id) == Array(ids.prefix(4)), "oldest due first")
            #expect(Set(takenByB.map(\.id)) == Set(ids.dropFirst(4)))
            #expect(try c.claimMessages(onC, limit: 10, now: now, until: until).isEmpty, "every row held by a live claim")

            // B gives back two (not attempted): any hub may take them now; A's stay A's.
            try b.releaseMessages(onB, ids: Array(ids.suffix(2)))
            try a.releaseMessages(onB, ids: [ids[5]])  // not A's: stays B's
            #expect(try c.claimMessages(onC, limit: 10, now: now, until: until).map(\.id) == Array(ids.suffix(2)))
        }
    }

    /// A claim whose lease has passed (its hub died) is taken by another hub; one still leased is not.
    @Test func aPassedLeaseIsTakenALiveOneIsNot() throws {
        try Self.withDatabase(messages: 2) { peer, ids in
            let live = Self.claims(peer, "live-hub")
            let onLive = try live.openConnection()
            let (now, until) = Self.lease()
            let held = try onLive.prepare("UPDATE outbox SET claimed_by = 'dead-hub', claimed_until = ? WHERE id = ?")
            try held.run(now.milliseconds - 1, ids[0])
            try held.run(now.milliseconds + 60_000, ids[1])
            #expect(try live.claimMessages(onLive, limit: 10, now: now, until: until).map(\.id) == [ids[0]])
        }
    }

    /// The receipt cursor has one holder at a time; released, another hub takes it.
    @Test func theReceiptCursorHasOneHolder() throws {
        try Self.withDatabase(messages: 0) { peer, _ in
            let a = Self.claims(peer, "hub-a"), b = Self.claims(peer, "hub-b")
            let onA = try a.openConnection(), onB = try b.openConnection()
            let (now, until) = Self.lease()
            #expect(try a.claimReceipts(onA, now: now, until: until))
            #expect(try !b.claimReceipts(onB, now: now, until: until))
            #expect(try a.claimReceipts(onA, now: now, until: until), "the holder renews its own claim")
            try b.releaseReceipts(onB)
            #expect(try !b.claimReceipts(onB, now: now, until: until), "only the holder gives it back")
            try a.releaseReceipts(onA)
            #expect(try b.claimReceipts(onB, now: now, until: until))
        }
    }

    /// A request's resolution has one holder at a time; a passed lease (its hub died mid-resolution) is taken by
    /// another hub, whose old holder then finds its claim gone; a resolved request cannot be claimed.
    @Test func aRequestResolutionHasOneHolderUntilItsLeasePasses() throws {
        try Self.withDatabase(messages: 0) { peer, _ in
            let a = Self.claims(peer, "hub-a"), b = Self.claims(peer, "hub-b")
            let onA = try a.openConnection(), onB = try b.openConnection()
            let at = Clock.now()
            let user = try UserRecords.insert(onA, .init(username: "alice", passwordHash: "x", role: .customer,
                                                        email: nil, phone: nil, fullName: nil, at: at))
            let request = try ServiceRequestRecords.insert(onA, .init(id: 1, user: user.id, kind: .kycUpdate,
                                                                     note: "address", account: nil, at: at))
            let (now, until) = Self.lease()
            #expect(try a.claimRequest(onA, id: request.id, now: now, until: until))
            #expect(try !b.claimRequest(onB, id: request.id, now: now, until: until), "A's lease is live")
            #expect(try a.claimRequest(onA, id: request.id, now: now, until: until), "the holder renews its own claim")
            let passed = Timestamp(milliseconds: until.milliseconds + 1)
            #expect(try b.claimRequest(onB, id: request.id, now: passed,
                                       until: Timestamp(milliseconds: passed.milliseconds + 60_000)))
            #expect(try !a.releaseRequest(onA, id: request.id), "A's claim was taken after its lease passed")
            let resolved = request.resolved(.cancelled, by: user.id, at: passed, reason: nil)
            #expect(try ServiceRequestRecords.resolve(onB, resolved))
            #expect(try b.releaseRequest(onB, id: request.id))
            #expect(try !a.claimRequest(onA, id: request.id, now: passed, until: Timestamp(milliseconds: passed.milliseconds + 60_000)),
                    "no longer pending")
        }
    }
}
