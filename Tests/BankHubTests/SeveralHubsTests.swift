@testable import BankHub
import BankCore
import BankCrypto
import BankWire
import Foundation
import Testing

/// Two hubs on one PostgreSQL database (`postgres.hubLock = .shared`, the several-hub mode) agree on what they
/// share through it: ids the database gives, session revocations, failed logins and wrong codes.
///
/// The users are made on hub A before hub B starts (B's ledger loads them then), and each test keeps the events
/// of a stream to one hub: per-stream seqs across hubs are the shared ledger's (another branch).
@Suite(.disabled(if: TestDatabase.isPair, "starts its own two hubs on one database (the SQLite and postgres runs run it)"))
struct SeveralHubsTests {
    /// Options of one of the hubs on `url`: shared lock, one code key for both (a code made on one hub is
    /// checked on the other), the test admin key.
    static func options(_ url: String, codeKey: String, _ options: inout HubServer.Options) {
        options = PostgresHubTests.options(url)
        options.postgres.hubLock = .shared
        options.hub.codeKeyHex = codeKey
        options.hub.adminKey = AdminKey(secret: TestHub.adminKey)
    }

    /// Runs `prepare` on hub A, then starts hub B on the same database and runs `body` with both.
    static func withTwoHubs<T>(configure: @escaping (inout HubServer.Options) -> Void = { _ in },
                               prepare: (TestHub) async throws -> T,
                               _ body: (TestHub, TestHub, T) async throws -> Void) async throws {
        let url = try TestDatabase.freshDatabaseURL()
        let codeKey = Hex.encode(SecureRandom.bytes(32))
        try await TestHub.with(configure: { Self.options(url, codeKey: codeKey, &$0); configure(&$0) }) { a in
            let prepared = try await prepare(a)
            try await TestHub.with(configure: { Self.options(url, codeKey: codeKey, &$0); configure(&$0) }) { b in
                #expect(await b.server.hub.configuration.severalHubs)
                try await body(a, b, prepared)
            }
        }
    }

    /// A client on `hub` signed in with `token`.
    static func session(on hub: TestHub, token: String) async throws -> HubClient {
        let client = try await hub.client()
        _ = try await client.ok("auth", ["token": .string(token)])
        return client
    }

    /// Standing orders created on both hubs at once get distinct ids (the database's), and both are stored.
    @Test func ordersCreatedOnBothHubsAtOnceGetDistinctIDs() async throws {
        try await Self.withTwoHubs(prepare: { a in
            (try await a.customer("alice", deposit: nil), try await a.customer("bob", deposit: nil))
        }) { a, b, users in
            let (alice, bob) = users
            let onB = try await Self.session(on: b, token: alice.token)
            let start = JSONValue.string(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1_000) + 30 * 86_400_000).rfc3339)
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00",
                                   "every": "month", "start": start]
            // Both in flight together: sent before either answer is read.
            let (sentA, sentB) = (try await alice.client.send("order_create", args), try await onB.send("order_create", args))
            let replies = [try await alice.client.reply(to: sentA), try await onB.reply(to: sentB)]
            let ids = replies.compactMap { $0["result"]?["order"]?["id"]?.stringValue }
            #expect(ids.count == 2 && Set(ids).count == 2, "\(ids)")
            let listed = try await alice.client.ok("orders")["orders"]?.arrayValue ?? []
            #expect(Set(listed.compactMap { $0["id"]?.stringValue }) == Set(ids))
        }
    }

    /// `logout` on hub A ends the same token's session on hub B: B's client is told `unsubscribed` (reason
    /// `logout`) within the poll period, and its next request needs a login again.
    @Test func logoutOnOneHubEndsTheSameTokenOnTheOther() async throws {
        try await Self.withTwoHubs(prepare: { a in try await a.customer("alice", deposit: nil) }) { a, b, alice in
            let onB = try await Self.session(on: b, token: alice.token)
            _ = try await onB.ok("subscribe", ["stream": .string("user:\(alice.userID)")])
            _ = try await alice.client.ok("logout")
            // The documented bound is 250 ms plus one read; the deadline is generous for a loaded machine.
            let event = try await onB.nextEvent(timeout: .seconds(5))
            #expect(event["event"] == "unsubscribed" && event["data"]?["reason"] == "logout", "\(JSONWriter.string(event))")
            #expect(try await onB.errorCode("accounts") == "unauthorized")
        }
    }

    /// An admin's `lock_user` on hub A closes the user's connection on hub B with 1008 ("user locked").
    @Test func lockOnOneHubClosesTheUsersConnectionsOnTheOther() async throws {
        try await Self.withTwoHubs(prepare: { a in
            (try await a.staff("adam", role: .admin), try await a.customer("alice", deposit: nil))
        }) { a, b, users in
            let (adam, alice) = users
            let onB = try await Self.session(on: b, token: alice.token)
            _ = try await adam.client.ok("lock_user", ["user": .string(alice.userID),
                                                       "admin_key": .string(TestHub.adminKey)])
            #expect(try await onB.receiveRaw(timeout: .seconds(5)) == .close(code: 1008, reason: "user locked"))
        }
    }

    /// Five wrong passwords spread over the hubs (two on A, three on B) lock the user: B counts A's too.
    @Test func wrongPasswordsOnBothHubsLockTheUser() async throws {
        try await Self.withTwoHubs(prepare: { a in try await a.customer("alice", deposit: nil) }) { a, b, _ in
            let wrong: JSONValue = ["username": "alice", "password": "not the password"]
            let onA = try await a.client(), onB = try await b.client()
            for _ in 0..<2 { #expect(try await onA.errorCode("login", wrong) == "unauthorized") }
            for _ in 0..<3 { #expect(try await onB.errorCode("login", wrong) == "unauthorized") }
            // Asked on B: B raised the threats of this lock (A answering would raise one of its own on the same
            // stream, whose seq is per hub until the shared ledger).
            #expect(try await onB.errorCode("login", ["username": "alice", "password": "correct horse battery"])
                    == "account_locked")
        }
    }

    /// A reset code sent by hub A is confirmed on hub B; wrong codes count toward the per-user limit on both
    /// hubs together, so past it even a right code is refused on either.
    @Test func codesAreSharedAcrossHubs() async throws {
        let email = "alice@example.com"
        try await Self.withTwoHubs(configure: { $0.hub.security.codeFailuresMax = 4 }, prepare: { a in
            let client = try await a.client()
            _ = try await client.ok("signup", ["username": "alice", "password": "correct horse battery",
                                               "email": .string(email)])
        }) { a, b, _ in
            let onA = try await a.client(), onB = try await b.client()
            /// The error code of a reset, nil when it succeeded.
            func reset(_ client: HubClient, _ code: String, _ password: String) async throws -> String? {
                let reply = try await client.request("reset_password", ["username": "alice", "code": .string(code),
                                                                         "new_password": .string(password)])
                return reply["error"]?["code"]?.stringValue
            }
            var after = try a.lastOutboxID()
            _ = try await onA.ok("forgot_password", ["username": "alice"])
            var code = try await a.code(to: email, after: after)
            let wrongCode = code == "000000" ? "111111" : "000000"
            for _ in 0..<2 { #expect(try await reset(onA, wrongCode, "first new password") == "otp_invalid") }
            #expect(try await reset(onB, code, "first new password") == nil, "a challenge of A confirmed on B")
            _ = try await onB.ok("login", ["username": "alice", "password": "first new password"])

            after = try a.lastOutboxID()
            _ = try await onA.ok("forgot_password", ["username": "alice"])
            code = try await a.code(to: email, after: after)
            #expect(try await reset(onB, wrongCode, "second new password") == "otp_invalid")
            #expect(try await reset(onA, wrongCode, "second new password") == "otp_invalid")
            #expect(try await reset(onA, code, "second new password") == "too_many_attempts",
                    "4 wrong codes over both hubs reach the limit of 4")
        }
    }

    /// Staff on both hubs resolving the same requests at once (one approving on A, one rejecting on B): each
    /// request is resolved exactly once, the other resolution is `conflict` and changed nothing, and both hubs
    /// stay up (the resolve gate is per hub; the database's conditional update decides).
    @Test func resolvingOneRequestOnBothHubsAtOnceResolvesItOnce() async throws {
        try await Self.withTwoHubs(prepare: { a in
            (try await a.customer("alice", deposit: nil), try await a.staff("erin", role: .employee),
             try await a.staff("adam", role: .admin))
        }) { a, b, users in
            let (alice, erin, adam) = users
            let adamOnB = try await Self.session(on: b, token: adam.token)
            // Several rounds: one may not catch the two resolutions inside each other's window.
            for round in 0..<8 {
                let filed = try await alice.client.serviceRequest("request_create",
                                                                  ["kind": "kyc_update", "note": .string("round \(round)")])
                let id = try #require(filed["id"])
                let (sentA, sentB) = (try await erin.client.send("request_approve", ["id": id]),
                                      try await adamOnB.send("request_reject", ["id": id, "reason": "duplicate"]))
                let (onA, onB) = (try await erin.client.reply(to: sentA), try await adamOnB.reply(to: sentB))
                let winners = [onA, onB].compactMap { $0["result"]?["request"] }
                #expect(winners.count == 1, "round \(round): \(JSONWriter.string(onA)) \(JSONWriter.string(onB))")
                #expect([onA, onB].filter { $0["error"]?["code"] == "conflict" }.count == 1)
                // What the database holds is the winner's resolution, seen alike from both hubs.
                for client in [alice.client, try await Self.session(on: b, token: alice.token)] {
                    let listed = try await client.ok("requests")["requests"]?.arrayValue ?? []
                    let stored = listed.first { $0["id"] == id }
                    #expect(stored?["status"] == winners.first?["status"], "round \(round)")
                }
            }
        }
    }

    /// Staff on both hubs approving and rejecting one account closure at once, many rounds: exactly one wins,
    /// the other is `conflict`, and the account is closed exactly when the approval won (the resolution is
    /// claimed in the database before the approval closes the account, so the loser closes nothing).
    @Test func racingClosureResolutionsCloseTheAccountOnlyWhenApproved() async throws {
        let rounds = 10
        try await Self.withTwoHubs(prepare: { a in
            var owners: [Customer] = []
            for round in 0..<rounds { owners.append(try await a.customer("owner\(round)", deposit: nil)) }
            return (owners, try await a.staff("erin", role: .employee), try await a.staff("adam", role: .admin))
        }) { a, b, users in
            let (owners, erin, adam) = users
            let adamOnB = try await Self.session(on: b, token: adam.token)
            for (round, owner) in owners.enumerated() {
                let filed = try await owner.client.serviceRequest("request_create", [
                    "kind": "account_closure", "note": .string("round \(round)"), "account": .string(owner.account)])
                let id = try #require(filed["id"])
                // The approval alternates between the hubs, so each hub's effect races the other's commit.
                let approve: JSONValue = ["id": id], reject: JSONValue = ["id": id, "reason": "kept open"]
                let approveOnA = round.isMultiple(of: 2)
                let (sentA, sentB) = (try await erin.client.send(approveOnA ? "request_approve" : "request_reject",
                                                                 approveOnA ? approve : reject),
                                      try await adamOnB.send(approveOnA ? "request_reject" : "request_approve",
                                                             approveOnA ? reject : approve))
                let (onA, onB) = (try await erin.client.reply(to: sentA), try await adamOnB.reply(to: sentB))
                let winners = [onA, onB].compactMap { $0["result"]?["request"] }
                let context = "round \(round): \(JSONWriter.string(onA)) \(JSONWriter.string(onB))"
                #expect(winners.count == 1, "\(context)")
                #expect([onA, onB].filter { $0["error"]?["code"] == "conflict" }.count == 1, "\(context)")
                let winner = try #require(winners.first?["status"]?.stringValue)
                let account = try await owner.client.ok("accounts")["accounts"]?.arrayValue?.first
                #expect(account?["status"] == (winner == "approved" ? "closed" : "open"), "\(context)")
            }
        }
    }
}
