import BankCore
import BankWire
import Foundation
import Testing
import WebSocketClient
@testable import BankHub

/// `POST /api/v1/OP` against the real hub: the same dispatcher, permissions, limits and idempotency as a
/// WebSocket frame, answered with the reply object and the status of its error code.
@Suite(.serialized) struct HTTPAPITests {
    /// A token from `login` over HTTP works on a WebSocket (`auth`), and one from a WebSocket `login` works over
    /// HTTP; anonymous ops (signup, login) need no token.
    @Test func loginOverHTTPGivesATokenForBothTransports() async throws {
        try await TestHub.with { hub in
            let api = try await APIClient.customer("hana", port: hub.port)
            let socket = try await hub.client()
            let authed = try await socket.ok("auth", ["token": .string(try #require(api.token))])
            #expect(authed["user"]?["username"] == "hana")
            let opened = try await api.ok("open_account", ["name": "Travel"])
            let accounts = try await socket.ok("accounts")
            #expect(accounts["accounts"]?.arrayValue?.contains { $0["id"] == opened["account"]?["id"] } == true)

            let walker = try await hub.customer("walker")
            let viaHTTP = APIClient(port: hub.port, token: walker.token)
            let listed = try await viaHTTP.ok("accounts")
            #expect(listed["accounts"]?.arrayValue?.first?["id"]?.stringValue == walker.account)
        }
    }

    /// A transfer over HTTP answers what the WebSocket answers (without `id`), after the commit: the balance it
    /// reports is what a WebSocket reads next.
    @Test func transferAnswersTheReplyObject() async throws {
        try await TestHub.with { hub in
            let payer = try await hub.customer("payer", deposit: "100.00")
            let payee = try await hub.customer("payee", deposit: nil)
            let api = APIClient(port: hub.port, token: payer.token)
            let answer = try await api.call("transfer", ["from": .string(payer.account), "to": .string(payee.account),
                                                         "amount": "25.50", "note": "lunch"])
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/json")
            #expect(answer.headers["cache-control"] == "no-store")
            #expect(answer.reply["id"] == nil)
            #expect(answer.reply["ok"] == true)
            #expect(answer.result?["balance"] == "74.50")
            #expect(answer.result?["txn"]?["amount"] == "25.50")
            #expect(answer.result?["txn"]?["note"] == "lunch")
            let seen = try await payee.client.ok("accounts")
            #expect(seen["accounts"]?.arrayValue?.first?["balance"] == "25.50")
            #expect(try hub.ledgerViolations().isEmpty)
        }
    }

    /// `Idempotency-Key` is `idempotency_key`: a retry replays the first result and moves nothing; the same key
    /// with another amount is 409 naming the field; a header and a body key that differ are 400.
    @Test func idempotencyKeyHeaderReplaysOnce() async throws {
        try await TestHub.with { hub in
            let payer = try await hub.customer("ivy", deposit: "100.00")
            let payee = try await hub.customer("jon", deposit: nil)
            let api = APIClient(port: hub.port, token: payer.token)
            let args: JSONValue = ["from": .string(payer.account), "to": .string(payee.account), "amount": "10.00"]
            let key = [("Idempotency-Key", "order-7")]
            let first = try await api.ok("transfer", args, headers: key)
            let again = try await api.ok("transfer", args, headers: key)
            #expect(again["replayed"] == true)
            #expect(again["txn"]?["id"] == first["txn"]?["id"])
            #expect(again["balance"] == "90.00")
            let other: JSONValue = ["from": .string(payer.account), "to": .string(payee.account), "amount": "11.00"]
            let conflict = try await api.call("transfer", other, headers: key)
            #expect(conflict.status == 409 && conflict.code == "conflict")
            #expect(conflict.reply["error"]?["field"] == "amount")
            let mismatched: JSONValue = ["from": .string(payer.account), "to": .string(payee.account),
                                         "amount": "10.00", "idempotency_key": "order-8"]
            let differ = try await api.call("transfer", mismatched, headers: key)
            #expect(differ.status == 400 && differ.reply["error"]?["field"] == "idempotency_key")
            let balance = try await payer.client.ok("accounts")["accounts"]?.arrayValue?.first?["balance"]
            #expect(balance == "90.00")
        }
    }

    /// Each error code answers its documented status, with the same error object as on a WebSocket.
    @Test func statusesFollowTheErrorCode() async throws {
        try await TestHub.with { hub in
            let owner = try await hub.customer("kim", deposit: "2000.00")
            let other = try await hub.customer("lee", deposit: nil)
            let api = APIClient(port: hub.port, token: owner.token)
            let anonymous = APIClient(port: hub.port)
            func expectStatus(_ answer: APIClient.Answer, _ status: Int, _ code: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(answer.status == status, "\(JSONWriter.string(answer.reply))", sourceLocation: sourceLocation)
                #expect(answer.code == code, sourceLocation: sourceLocation)
                #expect(answer.reply["ok"] == false, sourceLocation: sourceLocation)
            }
            let from = JSONValue.string(owner.account)
            let to = JSONValue.string(other.account)
            expectStatus(try await api.call("transfer", ["from": from, "to": to]), 400, "bad_request")
            expectStatus(try await api.call("transfer", ["from": from, "to": to, "amount": 5]), 400, "invalid_amount")
            let unauthorized = try await anonymous.call("accounts")
            expectStatus(unauthorized, 401, "unauthorized")
            #expect(unauthorized.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
            expectStatus(try await APIClient(port: hub.port, token: "not-a-token").call("accounts"), 401, "unauthorized")
            expectStatus(try await anonymous.raw("POST", "/api/v1/accounts", headers: [("Authorization", "Basic eDp5")]),
                         401, "unauthorized")
            expectStatus(try await api.call("users"), 403, "forbidden")
            expectStatus(try await api.call("history", ["account": to]), 404, "not_found")
            let unknown = try await api.call("teleport")
            expectStatus(unknown, 404, "not_found")
            #expect(unknown.reply["error"]?["field"] == "op")
            expectStatus(try await anonymous.call("signup", ["username": "kim", "password": "correct horse battery"]),
                         409, "conflict")
            expectStatus(try await api.call("transfer", ["from": from, "to": to, "amount": "5000.00"]), 422,
                         "insufficient_funds")
            expectStatus(try await api.call("transfer", ["from": from, "to": from, "amount": "1.00"]), 422, "same_account")
            let held = try await api.call("transfer", ["from": from, "to": to, "amount": "1500.00"])
            expectStatus(held, 428, "otp_required")
            #expect(held.reply["error"]?["challenge"]?.stringValue?.isEmpty == false)
            let oversized = try await api.raw("POST", "/api/v1/accounts", headers: [("Content-Type", "application/json")],
                                              body: Array(#"{"pad":""#.utf8) + [UInt8](repeating: 97, count: 70_000) + Array(#""}"#.utf8))
            expectStatus(oversized, 413, "too_large")
            expectStatus(try await api.raw("POST", "/api/v1/accounts", headers: [("Content-Type", "text/plain")],
                                           body: Array("{}".utf8)), 415, "bad_request")
            let wrongMethod = try await api.raw("GET", "/api/v1/accounts")
            expectStatus(wrongMethod, 405, "bad_request")
            #expect(wrongMethod.headers["allow"] == "POST")
            expectStatus(try await api.raw("POST", "/api/v1/accounts", headers: [("Content-Type", "application/json")],
                                           body: Array("[1]".utf8)), 400, "bad_request")
            // Nothing above moved money.
            #expect(try await api.ok("accounts")["accounts"]?.arrayValue?.first?["balance"] == "2000.00")
        }
    }

    /// Five failed logins over HTTP lock the user (423), as on a WebSocket; the user's token then answers 423.
    @Test func lockedUserIs423() async throws {
        try await TestHub.with { hub in
            let victim = try await hub.customer("mia")
            let anonymous = APIClient(port: hub.port)
            for _ in 0..<5 {
                let failed = try await anonymous.call("login", ["username": "mia", "password": "wrong password!"])
                #expect(failed.status == 401 || failed.status == 423)
            }
            let locked = try await anonymous.call("login", ["username": "mia", "password": "correct horse battery"])
            #expect(locked.status == 423 && locked.code == "account_locked")
            let withToken = try await APIClient(port: hub.port, token: victim.token).call("accounts")
            #expect(withToken.status == 423 && withToken.code == "account_locked")
        }
    }

    /// Rate limits are the WebSocket's: requests of one user over both transports spend one bucket, and the
    /// refusal is 429 with `Retry-After`.
    @Test(.disabled(if: TestDatabase.isPair, "rate-limit buckets are per hub (docs/scaling.md, Shared state)"))
    func rateLimitsAreSharedWithWebSockets() async throws {
        try await TestHub.with(configure: {
            $0.hub.security.userRate = TokenBucket.Limit(ratePerSecond: 0.01, capacity: 12)
        }) { hub in
            let user = try await hub.customer("ned")
            let api = APIClient(port: hub.port, token: user.token)
            var accepted = 0
            var refusal: APIClient.Answer?
            while refusal == nil, accepted < 20 {
                let answer = try await api.call("accounts")
                if answer.status == 429 { refusal = answer } else { accepted += 1 }
            }
            let refused = try #require(refusal)
            #expect(accepted < 12, "the WebSocket requests of `customer` spent part of the same bucket")
            #expect(refused.code == "rate_limited")
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
            #expect(refused.reply["error"]?["retry_after"]?.int64Value ?? 0 >= 1)
            #expect(try await user.client.errorCode("accounts") == "rate_limited")
        }
    }

    /// `auth`, `subscribe` and `unsubscribe` work only on a WebSocket (400); `logout` over HTTP revokes the
    /// token: the next HTTP request with it is 401 and a WebSocket authenticated with it is anonymous again.
    @Test func socketOnlyOpsAreRefusedAndLogoutRevokes() async throws {
        try await TestHub.with { hub in
            let user = try await hub.customer("oda")
            let api = APIClient(port: hub.port, token: user.token)
            for op in Op.allCases where op.isSocketOnly {
                let answer = try await api.call(op.rawValue, ["token": .string(user.token), "stream": "user:1"])
                #expect(answer.status == 400 && answer.code == "bad_request", "\(op.rawValue)")
                #expect(answer.reply["error"]?["message"]?.stringValue?.contains("WebSocket") == true)
            }
            #expect(try await api.ok("logout") == [:])
            let after = try await api.call("accounts")
            #expect(after.status == 401 && after.code == "unauthorized")
            #expect(try await user.client.code(afterRevocation: "accounts", expected: "unauthorized") == "unauthorized")
        }
    }

    /// A real client: Python's `urllib` logs in, lists accounts and deposits with an `Idempotency-Key`, and reads
    /// a 422 as an HTTPError carrying the reply object.
    @Test func pythonUrllibClient() async throws {
        try await TestHub.with { hub in
            _ = try await hub.customer("pat", deposit: "10.00")
            let script = """
            import json, sys, urllib.request, urllib.error
            base = f"http://127.0.0.1:{sys.argv[1]}/api/v1/"
            def call(op, args, token=None, headers={}):
                request = urllib.request.Request(base + op, data=json.dumps(args).encode(), method="POST",
                                                 headers={"Content-Type": "application/json", **headers})
                if token: request.add_header("Authorization", "Bearer " + token)
                try:
                    with urllib.request.urlopen(request) as response:
                        return response.status, json.load(response)
                except urllib.error.HTTPError as error:
                    return error.code, json.load(error)
            status, login = call("login", {"username": "pat", "password": "correct horse battery"})
            token = login["result"]["token"]
            status, accounts = call("accounts", {}, token)
            account = accounts["result"]["accounts"][0]["id"]
            print(call("deposit", {"account": account, "amount": "2.50"}, token, {"Idempotency-Key": "py-1"})[0])
            print(call("deposit", {"account": account, "amount": "2.50"}, token, {"Idempotency-Key": "py-1"})[1]["result"]["replayed"])
            print(json.dumps(call("withdraw", {"account": account, "amount": "99.00"}, token)))
            """
            let output = try TransportSecurityTests.run("python3", ["-c", script, String(hub.port)])
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines.first == "200")
            #expect(lines.dropFirst().first == "True")
            let refused = try JSONParser.parse(lines.last ?? "").arrayValue ?? []
            #expect(refused.first == 422)
            #expect(refused.last?["error"]?["code"] == "insufficient_funds")
        }
    }

    /// Over TLS the hub offers only HTTP/1.1 (ALPN): lws 4.1's HTTP/2 parser would drop `Idempotency-Key`
    /// and a retried deposit would move money twice. A client offering h2 gets http/1.1, and the key holds.
    @Test func httpsNegotiatesHTTP1SoTheIdempotencyKeyHolds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-alpn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        _ = try TransportSecurityTests.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                       "-keyout", key, "-out", cert])
        try await TestHub.with(configure: {
            $0.transport.tlsCertificatePath = cert
            $0.transport.tlsPrivateKeyPath = key
        }) { hub in
            let script = """
            import http.client, json, socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.set_alpn_protocols(["h2", "http/1.1"])
            with context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                                     server_hostname="127.0.0.1") as probe:
                print(probe.selected_alpn_protocol())
            def call(op, args, headers={}):
                connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context)
                connection.request("POST", "/api/v1/" + op, json.dumps(args), {"Content-Type": "application/json", **headers})
                return json.load(connection.getresponse())["result"]
            credentials = {"username": "ada", "password": "correct horse battery"}
            call("signup", credentials)
            bearer = {"Authorization": "Bearer " + call("login", credentials)["token"]}
            account = call("open_account", {}, bearer)["account"]["id"]
            for _ in range(2):
                print(call("deposit", {"account": account, "amount": "5.00"}, {**bearer, "Idempotency-Key": "tls-1"})["balance"])
            """
            let output = try TransportSecurityTests.run("python3", ["-c", script, String(hub.port), cert])
            #expect(output.split(separator: "\n").map(String.init) == ["http/1.1", "5.00", "5.00"])
        }
    }

    /// docs/protocol.md prints the status of every error code; this fails when the table and `HTTPStatus`
    /// disagree.
    @Test func protocolDocPrintsTheStatusOfEveryCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let start = try #require(text.range(of: "<!-- http-status:begin -->"))
        let stop = try #require(text.range(of: "<!-- http-status:end -->"))
        let documented = text[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        var expected = ["| code | status |", "|---|---|"]
        for code in ErrorCode.allCases { expected.append("| `\(code.rawValue)` | \(HTTPStatus.of(code)) |") }
        #expect(documented == expected.joined(separator: "\n"),
                "docs/protocol.md's status table should read:\n\(expected.joined(separator: "\n"))")
    }
}
