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

    // MARK: Per-user limits across hubs

    /// Sends `op` with `args` on both clients before reading either answer; returns both replies.
    static func race(_ op: String, _ first: HubClient, _ argsFirst: JSONValue, _ second: HubClient,
                     _ argsSecond: JSONValue) async throws -> [JSONValue] {
        let (sentFirst, sentSecond) = (try await first.send(op, argsFirst), try await second.send(op, argsSecond))
        return [try await first.reply(to: sentFirst), try await second.reply(to: sentSecond)]
    }

    /// Of two racing replies: expects exactly one to carry `result[key]` and the other to be `conflict` with
    /// `message`; returns the winners' `result[key]` (one, when the expectations hold).
    static func expectOneWonOneRefused(_ replies: [JSONValue], result key: String, context: String,
                                       conflict message: String) -> [JSONValue] {
        let won = replies.compactMap { $0["result"]?[key] }
        #expect(won.count == 1, "\(context)")
        let refused = replies.compactMap { $0["error"] }
        #expect(refused.count == 1 && refused.first?["code"] == "conflict"
                && refused.first?["message"]?.stringValue == message, "\(context)")
        return won
    }

    /// A customer with 19 pending requests (the limit is 20) files one more on each hub at once, several rounds:
    /// exactly one is filed, the other is `conflict` with the documented message, and 20 are pending after.
    /// Each hub's gate orders only its own filings; the commit counts again under the user's row lock.
    @Test func requestsFiledOnBothHubsAtOnceStopAtThePendingLimit() async throws {
        let limit = ServiceRequestGate.pendingPerUserMax
        try await Self.withTwoHubs(prepare: { a -> Customer in
            let alice = try await a.customer("alice", deposit: nil)
            for index in 0..<(limit - 1) {
                _ = try await alice.client.serviceRequest("request_create", ["kind": "kyc_update",
                                                                             "note": .string("filed \(index)")])
            }
            return alice
        }) { _, b, alice in
            let onB = try await Self.session(on: b, token: alice.token)
            for round in 0..<4 {
                let args: JSONValue = ["kind": "limit_increase", "note": .string("round \(round)")]
                let replies = try await Self.race("request_create", alice.client, args, onB, args)
                let context = "round \(round): \(replies.map { JSONWriter.string($0) })"
                let filed = Self.expectOneWonOneRefused(replies, result: "request", context: context,
                    conflict: "at most \(limit) requests may be pending; cancel one or wait for staff")
                let pending = try await onB.ok("requests", ["status": "pending"])["requests"]?.arrayValue ?? []
                #expect(pending.count == limit, "\(context)")
                // Back to one below the limit for the next round.
                let id = try #require(filed.first?["id"])
                _ = try await alice.client.ok("request_cancel", ["id": id])
            }
        }
    }

    /// The same payee added on both hubs at once: one is added, the other is `conflict` naming it, and both
    /// hubs stay up (the table's unique key would otherwise refuse the second inside an event job, which stops
    /// its hub). A payee renamed on one hub while removed on the other: the removal wins or the rename does,
    /// a rename of the removed payee is `not_found`, and both hubs still answer.
    @Test func payeesChangedOnBothHubsAtOnceStayOnePerAccount() async throws {
        let rounds = 6
        try await Self.withTwoHubs(prepare: { a -> (Customer, [Customer]) in
            var payees: [Customer] = []
            for round in 0..<rounds { payees.append(try await a.customer("payee\(round)", deposit: nil)) }
            return (try await a.customer("alice", deposit: nil), payees)
        }) { _, b, users in
            let (alice, payees) = users
            let onB = try await Self.session(on: b, token: alice.token)
            for (round, payee) in payees.enumerated() {
                let args: JSONValue = ["account": .string(payee.account), "nickname": .string("payee \(round)")]
                let replies = try await Self.race("payee_add", alice.client, args, onB, args)
                let context = "round \(round): \(replies.map { JSONWriter.string($0) })"
                let added = replies.compactMap { $0["result"]?["payee"] }
                #expect(added.count == 1, "\(context)")
                let id = try #require(added.first?["id"])
                #expect(replies.compactMap { $0["error"] }.map { $0["code"] } == ["conflict"], "\(context)")
                for client in [alice.client, onB] {
                    let listed = try await client.ok("payees")["payees"]?.arrayValue ?? []
                    #expect(listed.filter { $0["account"]?.stringValue == payee.account }.map { $0["id"] } == [id],
                            "\(context)")
                }
                let changes = try await Self.race("payee_remove", alice.client, ["id": id],
                                                  onB, ["id": id])
                let removed = changes.filter { $0["ok"]?.boolValue == true }
                #expect(removed.count == 1, "round \(round): \(changes.map { JSONWriter.string($0) })")
                #expect(changes.compactMap { $0["error"]?["code"] } == ["not_found"])
            }
            #expect(try await alice.client.ok("payees")["payees"]?.arrayValue?.isEmpty == true)
            #expect(try await onB.ok("payees")["payees"]?.arrayValue?.isEmpty == true)
        }
    }

    /// A customer with 49 active standing orders (the limit is 50) creates one more on each hub at once, several
    /// rounds: exactly one is created, the other is `conflict`, and 50 are active after.
    @Test func ordersCreatedOnBothHubsAtOnceStopAtTheActiveLimit() async throws {
        let limit = Hub.ordersPerUserMax
        let start = JSONValue.string(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1_000)
                                               + 30 * 86_400_000).rfc3339)
        try await Self.withTwoHubs(prepare: { a -> (Customer, JSONValue) in
            let (alice, bob) = (try await a.customer("alice", deposit: nil), try await a.customer("bob", deposit: nil))
            let args: JSONValue = ["from": .string(alice.account), "to": .string(bob.account), "amount": "1.00",
                                   "every": "month", "start": start]
            for _ in 0..<(limit - 1) { _ = try await alice.client.ok("order_create", args) }
            return (alice, args)
        }) { _, b, prepared in
            let (alice, args) = prepared
            let onB = try await Self.session(on: b, token: alice.token)
            for round in 0..<4 {
                let replies = try await Self.race("order_create", alice.client, args, onB, args)
                let context = "round \(round): \(replies.map { JSONWriter.string($0) })"
                let created = Self.expectOneWonOneRefused(replies, result: "order", context: context,
                    conflict: "a user may have at most \(limit) active standing orders; cancel one first")
                let active = try await onB.ok("orders", ["status": "active"])["orders"]?.arrayValue ?? []
                #expect(active.count == limit, "\(context)")
                _ = try await alice.client.ok("order_cancel", ["id": try #require(created.first?["id"])])
            }
        }
    }

    /// Wrong reset codes sent to both hubs at once, five on each: at most `codeFailuresMax` (4) are checked and
    /// answered `otp_invalid`, the others `too_many_attempts` (or `unavailable`, a check that lost a database race
    /// and was not counted); wrong codes sent one by one after that reach exactly 4 in all, and the right code is
    /// refused. Checks under way on either hub count toward the limit (each is reserved in the database before it
    /// runs), so asking several hubs at once does not multiply the guesses.
    @Test func codeChecksOnBothHubsAtOnceStopAtTheLimit() async throws {
        let email = "alice@example.com", limit = 4
        try await Self.withTwoHubs(configure: {
            $0.hub.security.codeFailuresMax = limit
            $0.hub.security.otpAttemptsMax = 100  // the per-challenge limit must not end the challenge first
        }, prepare: { a in
            let client = try await a.client()
            _ = try await client.ok("signup", ["username": "alice", "password": "correct horse battery",
                                               "email": .string(email)])
        }) { a, b, _ in
            let after = try a.lastOutboxID()
            let onA = try await a.client(), onB = try await b.client()
            _ = try await onA.ok("forgot_password", ["username": "alice"])
            let code = try await a.code(to: email, after: after)
            let wrong: JSONValue = ["username": "alice", "code": .string(code == "000000" ? "111111" : "000000"),
                                    "new_password": "a new password here"]
            var sent: [(HubClient, Int)] = []
            for _ in 0..<5 {
                sent.append((onA, try await onA.send("reset_password", wrong)))
                sent.append((onB, try await onB.send("reset_password", wrong)))
            }
            var codes: [String] = []
            for (client, id) in sent { codes.append(try await client.reply(to: id)["error"]?["code"]?.stringValue ?? "ok") }
            #expect(codes.filter { $0 == "otp_invalid" }.count <= limit, "\(codes)")
            #expect(codes.allSatisfy { ["otp_invalid", "too_many_attempts", "unavailable"].contains($0) }, "\(codes)")
            // One by one until refused: the wrong codes checked in all are exactly the limit.
            var checked = codes.filter { $0 == "otp_invalid" }.count
            for round in 0..<(limit + 1) {
                let reply = try await (round.isMultiple(of: 2) ? onA : onB).request("reset_password", wrong)
                guard reply["error"]?["code"] == "otp_invalid" else { break }
                checked += 1
            }
            #expect(checked == limit, "\(codes)")
            let right = try await onB.request("reset_password", ["username": "alice", "code": .string(code),
                                                                  "new_password": "a new password here"])
            #expect(right["error"]?["code"] == "too_many_attempts")
        }
    }

    /// Failed logins from one address spread over the hubs (three on A, one on B) reach the per-address limit
    /// of 4: B, which saw only one itself, refuses that address's next login with `rate_limited` (it takes the
    /// database's count at its own failure). Unknown usernames, so no user lockout is involved.
    @Test func failedLoginsFromOneAddressOnBothHubsBlockItOnTheOther() async throws {
        try await Self.withTwoHubs(configure: { $0.hub.security.addressFailuresMax = 4 },
                                   prepare: { _ in }) { a, b, _ in
            let onA = try await a.client(), onB = try await b.client()
            for index in 0..<3 {
                #expect(try await onA.errorCode("login", ["username": .string("nobody\(index)"),
                                                          "password": "not the password"]) == "unauthorized")
            }
            #expect(try await onB.errorCode("login", ["username": "nobody3", "password": "not the password"])
                    == "unauthorized")
            #expect(try await onB.errorCode("login", ["username": "nobody4", "password": "not the password"])
                    == "rate_limited", "4 failures from the address over both hubs")
        }
    }
}
