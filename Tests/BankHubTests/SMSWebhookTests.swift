import BankCore
@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Testing

/// A local HTTP SMS gateway: Python's http.server in a child process on 127.0.0.1 that records every POST
/// (path, headers, body) and answers with the status codes it was given, then 200.
final class SMSGatewayPeer {
    let port: Int
    private let process: Process
    private let directory: URL
    private var log: URL { directory.appendingPathComponent("requests.jsonl") }

    static let script = """
        import http.server, json, os, sys
        ready, log, codes = sys.argv[1], sys.argv[2], [int(c) for c in sys.argv[3].split(',') if c]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', '0'))).decode('utf-8')
                code = codes.pop(0) if codes else 200
                with open(log, 'a') as f:
                    f.write(json.dumps({'path': self.path, 'content_type': self.headers.get('Content-Type'),
                                        'host': self.headers.get('Host'), 'body': body, 'status': code}) + '\\n')
                self.send_response(code)
                self.send_header('Content-Length', '0')
                self.send_header('Connection', 'close')
                self.end_headers()
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        with open(ready + '.tmp', 'w') as f:
            f.write(str(server.server_address[1]))
        os.rename(ready + '.tmp', ready)
        server.serve_forever()
        """

    private init(process: Process, port: Int, directory: URL) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts the gateway; it answers the first requests with `statuses` (e.g. [503]), then 200.
    static func start(statuses: [Int] = []) async throws -> SMSGatewayPeer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sms-gateway-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ready = directory.appendingPathComponent("port")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, ready.path, directory.appendingPathComponent("requests.jsonl").path,
                             statuses.map(String.init).joined(separator: ",")]
        try process.run()
        for _ in 0..<200 {
            if let text = try? String(contentsOf: ready, encoding: .utf8), let port = Int(text) {
                return SMSGatewayPeer(process: process, port: port, directory: directory)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        throw HubClient.Failure(reply: "the SMS gateway peer did not start")
    }

    var url: String { "http://127.0.0.1:\(port)/sms/send" }

    /// The requests received so far, oldest first.
    func requests() throws -> [JSONValue] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    func waitForRequests(_ count: Int) async throws -> [JSONValue] {
        for _ in 0..<200 {
            let received = try requests()
            if received.count >= count { return received }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try requests()
    }

    /// SIGKILL (the test runner's children may not see SIGTERM), then removes its files.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// One-time codes reach the user through a channel that really delivers: with `--sms-webhook` a code goes
/// to the phone through the HTTP gateway as JSON `{to, body}`; without one it goes by e-mail.
@Suite(.serialized) struct SMSWebhookTests {
    /// Signs up alice with a phone and an e-mail address, funds her, and holds a 1,500.00 transfer for a code.
    static func heldTransfer(_ hub: TestHub) async throws -> (HubClient, JSONValue) {
        let alice = try await hub.client()
        _ = try await alice.ok("signup", ["username": "alice", "password": "correct horse battery",
                                          "phone": "+15550100", "email": "alice@example.com"])
        _ = try await alice.ok("login", ["username": "alice", "password": "correct horse battery"])
        let account = try #require(try await alice.ok("open_account")["account"]?["id"])
        _ = try await alice.ok("deposit", ["account": account, "amount": "2000.00"])
        let bob = try await hub.customer("bob", deposit: nil)
        let held = try await alice.request("transfer", ["from": account, "to": .string(bob.account), "amount": "1500.00"])
        #expect(held["error"]?["code"] == "otp_required")
        return (alice, try #require(held["error"]?["challenge"]))
    }

    /// With a gateway the code is POSTed to it as JSON `{to, body}` for the user's phone, and that code
    /// confirms the held transfer.
    @Test func postsCodesToTheGateway() async throws {
        let gateway = try await SMSGatewayPeer.start()
        defer { gateway.stop() }
        try await TestHub.with(configure: { _ = $0.notifications.setSMSWebhook(url: gateway.url) }) { hub in
            let (alice, challenge) = try await Self.heldTransfer(hub)
            let request = try #require(try await gateway.waitForRequests(1).first)
            #expect(request["path"] == "/sms/send" && request["content_type"] == "application/json")
            #expect(request["host"]?.stringValue == "127.0.0.1:\(gateway.port)")
            let sms = try JSONParser.parse(request["body"]?.stringValue ?? "")
            #expect(sms["to"] == "+15550100")
            #expect(sms.objectValue?.keys == ["to", "body"])
            let body = sms["body"]?.stringValue ?? ""
            let code = try #require(body.range(of: #"\b[0-9]{6}\b"#, options: .regularExpression).map { String(body[$0]) })
            let done = try await alice.ok("confirm_otp", ["challenge": challenge, "code": .string(code)])
            #expect(done["balance"] == "500.00")
            let line = try #require(try await NotifierTests.settledOutbox(hub, count: 1).first { $0["subject"] == "Your BankHub code" })
            #expect(line["channel"] == "sms" && line["to"] == "+15550100" && line["status"] == "sent")
        }
    }

    /// Without a gateway an SMS would only reach the log: the code goes to the user's e-mail address instead.
    @Test func sendsCodesByEmailWithoutAGateway() async throws {
        try await TestHub.with { hub in
            _ = try await Self.heldTransfer(hub)
            let lines = try await NotifierTests.settledOutbox(hub, count: 1).filter { $0["subject"] == "Your BankHub code" }
            #expect(lines.count == 1)
            #expect(lines.first?["channel"] == "email" && lines.first?["to"] == "alice@example.com")
        }
    }

    /// A gateway answering 503 gets the message again after the retry delay, and it is `sent` once accepted.
    @Test func retriesWhenTheGatewayRefuses() async throws {
        let gateway = try await SMSGatewayPeer.start(statuses: [503])
        defer { gateway.stop() }
        try await TestHub.with(configure: { options in
            _ = options.notifications.setSMSWebhook(url: gateway.url)
            options.notifications.retryBaseMilliseconds = 100
        }) { hub in
            _ = try await Self.heldTransfer(hub)
            let requests = try await gateway.waitForRequests(2)
            #expect(requests.map { $0["status"] } == [503, 200])
            #expect(requests.first?["body"] == requests.last?["body"])
            var line: JSONValue?
            for _ in 0..<100 {
                line = try NotifierTests.outboxJSON(hub).first { $0["subject"] == "Your BankHub code" }
                if line?["status"] == "sent" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(line?["status"] == "sent" && line?["attempts"] == 2)
        }
    }

    /// `--sms-webhook` takes only http:// and https:// URLs with a host.
    @Test func acceptsOnlyHTTPURLs() {
        var configuration = NotificationConfiguration()
        for good in ["http://127.0.0.1:9000/sms", "https://sms.example.com/v1/send?key=1", "http://[::1]:8080/"] {
            let accepted = configuration.setSMSWebhook(url: good)
            #expect(accepted, "\(good)")
        }
        #expect(configuration.smsWebhook?.description == "http://[::1]:8080/")
        for bad in ["ftp://example.com/", "http://", "http://user:pw@example.com/", "http://example.com:0/",
                    "http://example.com:70000/", "example.com/sms", "http://exa mple.com/", "http://example.com/#x"] {
            let accepted = configuration.setSMSWebhook(url: bad)
            #expect(!accepted, "\(bad)")
        }
    }
}
