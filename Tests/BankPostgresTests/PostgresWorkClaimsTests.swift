import BankCore
import BankPostgres
import BankStorage
import PostgresTestPeer
import Testing

/// `PostgresWorkClaims` against a real throwaway server: two hubs claiming at once take disjoint rows without
/// waiting for each other (`SKIP LOCKED`), a live claim of another live hub is skipped, a passed one is taken, a
/// dead hub's (no live heartbeat) is taken at once, and the receipt cursor has one holder at a time.
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

    /// The claims of hub `holder`, whose heartbeats last a minute (so a slow test never sees one pass).
    static func claims(_ peer: PostgresPeer, _ holder: String) -> PostgresWorkClaims {
        let conninfo = peer.conninfo
        return PostgresWorkClaims(connect: { try PostgresHubDatabase.connect(conninfo) }, statementMillisecondsMax: 2_000,
                                  holder: holder, heartbeatMilliseconds: 60_000)
    }

    /// A claim connection of `claims`' hub, which has beaten once: it is alive for a minute.
    static func live(_ claims: PostgresWorkClaims) throws -> any SQLDatabase {
        let db = try claims.openConnection()
        try claims.beat(db)
        return db
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
            let onA = try Self.live(a), onB = try Self.live(b), onC = try Self.live(c)
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

    /// A claim whose lease has passed (its hub is alive but stuck) is taken by another hub; one still leased is not.
    @Test func aPassedLeaseIsTakenALiveOneIsNot() throws {
        try Self.withDatabase(messages: 2) { peer, ids in
            let live = Self.claims(peer, "live-hub")
            let onLive = try Self.live(live)
            _ = try Self.live(Self.claims(peer, "stuck-hub"))
            let (now, until) = Self.lease()
            let held = try onLive.prepare("UPDATE outbox SET claimed_by = 'stuck-hub', claimed_until = ? WHERE id = ?")
            try held.run(now.milliseconds - 1, ids[0])
            try held.run(now.milliseconds + 60_000, ids[1])
            #expect(try live.claimMessages(onLive, limit: 10, now: now, until: until).map(\.id) == [ids[0]])
        }
    }

    /// The receipt cursor has one holder at a time; released, another hub takes it.
    @Test func theReceiptCursorHasOneHolder() throws {
        try Self.withDatabase(messages: 0) { peer, _ in
            let a = Self.claims(peer, "hub-a"), b = Self.claims(peer, "hub-b")
            let onA = try Self.live(a), onB = try Self.live(b)
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
            let onA = try Self.live(a), onB = try Self.live(b)
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

    /// Claims of a hub whose heartbeat has passed (killed) or is gone (stopped) are taken at once, long before
    /// their lease ends: messages, the receipt cursor, an order's row; a live hub's stay its own. Each hub's
    /// heartbeat is its own row, renewed in place, and a beat deletes the rows of hubs dead for over an hour.
    @Test func aDeadHolderClaimsAreTakenALiveHoldersAreNot() throws {
        try Self.withDatabase(messages: 4) { peer, ids in
            let alive = Self.claims(peer, "alive-hub"), taker = Self.claims(peer, "taker-hub")
            let killed = Self.claims(peer, "killed-hub"), stopped = Self.claims(peer, "stopped-hub")
            let onAlive = try Self.live(alive), onTaker = try Self.live(taker)
            let onKilled = try Self.live(killed), onStopped = try Self.live(stopped)
            let (now, until) = Self.lease(120)
            #expect(try alive.claimMessages(onAlive, limit: 1, now: now, until: until).map(\.id) == [ids[0]])
            #expect(try killed.claimMessages(onKilled, limit: 2, now: now, until: until).map(\.id) == [ids[1], ids[2]])
            #expect(try stopped.claimMessages(onStopped, limit: 1, now: now, until: until).map(\.id) == [ids[3]])
            #expect(try killed.claimReceipts(onKilled, now: now, until: until))
            #expect(try taker.claimMessages(onTaker, limit: 10, now: now, until: until).isEmpty, "every holder is alive")
            #expect(try !taker.claimReceipts(onTaker, now: now, until: until))

            // killed-hub's last beat passed a second ago (its process died); stopped-hub removed its own.
            try onTaker.prepare("UPDATE hub_heartbeats SET seen_until = seen_until - 61000 WHERE holder = 'killed-hub'").run()
            try stopped.endBeat(onStopped)
            #expect(try taker.claimMessages(onTaker, limit: 10, now: now, until: until).map(\.id) == [ids[1], ids[2], ids[3]],
                    "the dead hubs' messages, not the live one's")
            #expect(try taker.claimReceipts(onTaker, now: now, until: until), "the receipt cursor of a dead hub")
            #expect(try !alive.claimReceipts(onAlive, now: now, until: until), "taken: the live taker holds it now")
            try killed.releaseMessages(onKilled, ids: [ids[1]])  // too late: no longer its claim
            #expect(try taker.claimMessages(onTaker, limit: 10, now: now, until: until).count == 3, "still the taker's")

            // One row at a time (a request's resolution, an order): a dead hub's claim is taken, a live one's is not.
            let user = try UserRecords.insert(onTaker, .init(username: "alice", passwordHash: "x", role: .customer,
                                                            email: nil, phone: nil, fullName: nil, at: now))
            let requests = try (1...2).map { id in
                try ServiceRequestRecords.insert(onTaker, .init(id: Int64(id), user: user.id, kind: .kycUpdate, note: "n",
                                                                account: nil, at: now))
            }
            let holdRequest = try onTaker.prepare("UPDATE service_requests SET claimed_by = ?, claimed_until = ? WHERE id = ?")
            try holdRequest.run("killed-hub", until.milliseconds, requests[0].id)
            try holdRequest.run("alive-hub", until.milliseconds, requests[1].id)
            #expect(try taker.claimRequest(onTaker, id: requests[0].id, now: now, until: until))
            #expect(try !taker.claimRequest(onTaker, id: requests[1].id, now: now, until: until))

            // One row per hub, renewed in place; dead for over an hour: deleted by the next beat of any hub.
            try alive.beat(onAlive)
            let count = { (holder: String) throws -> Int64 in
                try onTaker.prepare("SELECT COUNT(*) FROM hub_heartbeats WHERE holder = ?").queryOne(holder) { $0.int64(0) } ?? -1
            }
            #expect(try count("alive-hub") == 1 && count("stopped-hub") == 0 && count("killed-hub") == 1)
            try onTaker.prepare("UPDATE hub_heartbeats SET seen_until = seen_until - 3600000 WHERE holder = 'killed-hub'").run()
            try taker.beat(onTaker)
            #expect(try count("killed-hub") == 0)
        }
    }
}
