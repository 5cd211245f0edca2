import BankCore
import BankWire
import Foundation
import Testing
import WebSocketClient
@testable import BankHub

/// `GET /api/v1/streams/STREAM`: a fan-out subscriber whose events arrive as server-sent-event records, with
/// `subscribe`'s permissions and its resume rule (no gap, no duplicate).
@Suite(.serialized) struct ServerSentEventsTests {
    static func deposit(_ customer: Customer, _ amount: String) async throws {
        _ = try await customer.client.ok("deposit", ["account": .string(customer.account), "amount": .string(amount)])
    }

    static func open(_ hub: TestHub, _ stream: String, token: String, lastEventID: Int64? = nil,
                     query: String = "") async throws -> EventStreamReader {
        var headers = [("Authorization", "Bearer \(token)")]
        if let lastEventID { headers.append(("Last-Event-ID", String(lastEventID))) }
        return try await EventStreamReader.open(port: hub.port, path: "/api/v1/streams/\(stream)\(query)", headers: headers)
    }

    /// Records carry `id: SEQ`, `event: NAME` and the event's data; live ones follow the replay.
    @Test func streamSendsRecordsWithSeqKindAndData() async throws {
        try await TestHub.with { hub in
            let owner = try await hub.customer("quinn", deposit: "10.00")
            let stream = try await Self.open(hub, "account:\(owner.account)", token: owner.token, query: "?since=0")
            defer { stream.close() }
            #expect(stream.status == 200)
            #expect(stream.headers["content-type"] == "text/event-stream")
            #expect(stream.headers["cache-control"] == "no-store")
            let replayed = try await stream.next(1)
            #expect(replayed == [.init(id: 1, event: "balance", data: replayed.first?.data ?? "")])
            let data = try JSONParser.parse(replayed.first?.data ?? "")
            #expect(data["account"]?.stringValue == owner.account)
            #expect(data["balance"] == "10.00")
            #expect(try await stream.comment(startingWith: "stream account:") == "stream account:\(owner.account) head 1")
            try await Self.deposit(owner, "2.00")
            let live = try await stream.next(1)
            #expect(live.first?.id == 2)
            #expect(try JSONParser.parse(live.first?.data ?? "")["balance"] == "12.00")
        }
    }

    /// A client that drops and reconnects with `Last-Event-ID` gets exactly the events it missed and then the
    /// live ones: no gap, no duplicate, while deposits keep committing around the reconnect.
    @Test func lastEventIDResumesAcrossAReconnect() async throws {
        try await TestHub.with { hub in
            let owner = try await hub.customer("rhea", deposit: "1.00")
            let first = try await Self.open(hub, "account:\(owner.account)", token: owner.token)
            for _ in 0..<5 { try await Self.deposit(owner, "1.00") }
            let seen = try await first.next(5)
            #expect(seen.map(\.id) == [2, 3, 4, 5, 6])
            first.close()
            // Missed while away, and more committing concurrently with the reconnect.
            for _ in 0..<7 { try await Self.deposit(owner, "1.00") }
            let (token, account) = (owner.token, owner.account)
            let writer = Task {
                let client = try await hub.client()
                _ = try await client.ok("auth", ["token": .string(token)])
                for _ in 0..<10 { _ = try await client.ok("deposit", ["account": .string(account), "amount": "1.00"]) }
            }
            let resumed = try await Self.open(hub, "account:\(owner.account)", token: owner.token,
                                              lastEventID: seen.last?.id)
            defer { resumed.close() }
            try await writer.value
            let rest = try await resumed.next(17)
            #expect(rest.map(\.id) == (7...23).map { Int64($0) })
            let balances = rest.map { (try? JSONParser.parse($0.data))?["balance"]?.stringValue }
            #expect(balances == (7...23).map { "\($0).00" })
        }
    }

    /// The stream's permissions are `subscribe`'s: another customer's account is 404, a staff stream is 403,
    /// no token is 401; a bad or too-new `since` is 400 or 409 (`resync_required`).
    @Test func streamPermissionsAndResumeErrorsMatchSubscribe() async throws {
        try await TestHub.with { hub in
            let owner = try await hub.customer("sam", deposit: "1.00")
            let stranger = try await hub.customer("tia", deposit: nil)
            let api = APIClient(port: hub.port, token: owner.token)
            let cases: [(String, [(String, String)], Int, String)] = [
                ("account:\(stranger.account)", [], 404, "not_found"),
                ("staff:requests", [], 403, "forbidden"),
                ("admin:threats", [], 403, "forbidden"),
                ("nonsense", [], 400, "bad_request"),
                ("account:\(owner.account)", [("Last-Event-ID", "x")], 400, "bad_request"),
                ("account:\(owner.account)", [("Last-Event-ID", "99")], 409, "resync_required"),
            ]
            for (stream, headers, status, code) in cases {
                let answer = try await api.raw("GET", "/api/v1/streams/\(stream)",
                                               headers: headers + [("Authorization", "Bearer \(owner.token)")])
                #expect(answer.status == status && answer.code == code, "\(stream): \(JSONWriter.string(answer.reply))")
            }
            let anonymous = try await APIClient(port: hub.port).raw("GET", "/api/v1/streams/account:\(owner.account)")
            #expect(anonymous.status == 401 && anonymous.code == "unauthorized")
            let posted = try await api.raw("POST", "/api/v1/streams/account:\(owner.account)")
            #expect(posted.status == 405 && posted.headers["allow"] == "GET")
        }
    }

    /// An idle stream gets a comment line every `eventStreamHeartbeatSeconds`.
    @Test func idleStreamGetsHeartbeats() async throws {
        try await TestHub.with(configure: { $0.hub.eventStreamHeartbeatSeconds = 1 }) { hub in
            let owner = try await hub.customer("uma", deposit: nil)
            let stream = try await Self.open(hub, "user:\(owner.userID)", token: owner.token)
            defer { stream.close() }
            #expect(try await stream.comment(startingWith: "keep-alive") == "keep-alive")
        }
    }

    /// `logout` ends the streams opened with that token: the connection closes.
    @Test func logoutEndsTheStream() async throws {
        try await TestHub.with { hub in
            let owner = try await hub.customer("vic", deposit: nil)
            let stream = try await Self.open(hub, "user:\(owner.userID)", token: owner.token)
            defer { stream.close() }
            _ = try await stream.comment(startingWith: "stream user:")
            _ = try await owner.client.ok("logout")
            let rest = try await stream.connection.readToEnd()
            #expect(String(decoding: rest, as: UTF8.self).contains("id:") == false)
        }
    }

    /// A reader that stops reading is cut off under the WebSocket's slow-consumer rule (bounded outbound
    /// bytes, then the connection closes within seconds): it misses events, and the hub forgets the stream.
    @Test func slowReaderIsCutOff() async throws {
        try await TestHub.with(configure: {
            $0.transport.outboundQueueBytesMax = 16 * 1_024
            $0.transport.httpStreamStallSeconds = 1
        }) { hub in
            let owner = try await hub.customer("wes", deposit: nil)
            let stream = try await EventStreamReader.open(
                port: hub.port, path: "/api/v1/streams/user:\(owner.userID)",
                headers: [("Authorization", "Bearer \(owner.token)")], receiveBufferBytes: 4_096, segmentBytesMax: 536)
            defer { stream.close() }
            #expect(await hub.eventStreamCount() == 1)
            // 800 `request` events of about 750 bytes (each carries its 500-character note): some 600 KB, far
            // past the 16 KiB queue and what the kernel buffers for a reader with a 536-byte MSS.
            let note = JSONValue.string(String(repeating: "n", count: 500))
            let rounds = 40
            for _ in 0..<rounds {
                // In batches small enough that the depositor's own replies stay under its 16 KiB queue.
                var created: [Int] = []
                for _ in 0..<10 {
                    created.append(try await owner.client.send("request_create", ["kind": "kyc_update", "note": note]))
                }
                var cancels: [Int] = []
                for id in created {
                    let request = try await owner.client.reply(to: id)["result"]?["request"]?["id"] ?? .null
                    cancels.append(try await owner.client.send("request_cancel", ["id": request]))
                }
                for id in cancels {
                    let reply = try await owner.client.reply(to: id)
                    #expect(reply["ok"] == true, "\(JSONWriter.string(reply))")
                }
            }
            var open = true
            for _ in 0..<500 where open {
                open = await hub.eventStreamCount() > 0
                if open { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(!open, "the stalled stream was not cut off")
            let received = String(decoding: try await stream.connection.readToEnd(), as: UTF8.self)
            let records = received.components(separatedBy: "\nid: ").count - 1
            #expect(records < rounds * 20, "the connection closed before every event was delivered")
        }
    }
}
