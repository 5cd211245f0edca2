import BankCore
@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import SMTPTestPeer
import Testing

/// Notifications end to end: the real hub queues login notices in the outbox and the worker derives receipts from
/// the ledger; it delivers them to a real SMTP server (aiosmtpd), `bankhub outbox` shows them sent, and a server that is
/// down at first gets the message once it is up.
@Suite(.serialized) struct NotifierTests {
    static func smtp(port: Int, retryBaseMilliseconds: Int64 = 1_000) -> (inout HubServer.Options) -> Void {
        { options in
            options.notifications.sink = .smtp
            options.notifications.smtpHost = "127.0.0.1"
            options.notifications.smtpPort = port
            options.notifications.smtpFrom = "bank@hub.test"
            options.notifications.retryBaseMilliseconds = retryBaseMilliseconds
            options.notifications.retryDelayMillisecondsMax = retryBaseMilliseconds * 16
        }
    }

    /// Signs up `name` with an e-mail address (no phone) and logs in.
    static func emailUser(_ hub: TestHub, _ name: String) async throws -> HubClient {
        let client = try await hub.client()
        _ = try await client.ok("signup", ["username": .string(name), "password": "correct horse battery",
                                           "email": .string("\(name)@example.com")])
        _ = try await client.ok("login", ["username": .string(name), "password": "correct horse battery"])
        return client
    }

    /// Runs `bankhub outbox --db PATH --json` and parses its lines.
    /// (On PostgreSQL, where the command does not run, the same listing read through the hub's engine.)
    static func outboxJSON(_ hub: TestHub) throws -> [JSONValue] {
        if TestDatabase.isPostgres { return try OutboxListing.recent(try hub.database(), limit: 50).map(\.json) }
        let process = Process()
        process.executableURL = CrashRecoveryTests.executable
        process.arguments = ["outbox", "--db", hub.databasePath, "--json", "--limit", "50"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    /// Polls the CLI until every listed message has left the `pending` state (bounded).
    static func settledOutbox(_ hub: TestHub, count: Int) async throws -> [JSONValue] {
        for _ in 0..<100 {
            let lines = try outboxJSON(hub)
            if lines.count >= count, lines.allSatisfy({ $0["status"] != "pending" }) { return lines }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try outboxJSON(hub)
    }

    /// The login notice and the receipts of a deposit and a transfer arrive at a real SMTP server, and
    /// `bankhub outbox --json` lists them as sent, newest first.
    @Test func deliversLoginNoticeAndReceiptsOverSMTP() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        try await TestHub.with(configure: Self.smtp(port: peer.port)) { hub in
            let alice = try await Self.emailUser(hub, "alice")
            let account = try #require(try await alice.ok("open_account")["account"]?["id"])
            _ = try await alice.ok("deposit", ["account": account, "amount": "100.00"])
            let bob = try await hub.customer("bob", deposit: nil)
            _ = try await alice.ok("transfer", ["from": account, "to": .string(bob.account), "amount": "25.00"])

            let received = try await peer.waitForMessages(3).filter { $0.recipients == ["alice@example.com"] }
            try #require(received.count == 3, "got \(received.map(\.subject))")
            #expect(received[0].subject == "New login to BankHub")
            #expect(received[0].body.contains("IP address: 127.0.0.1"))
            #expect(received[0].body.contains("Device: BankHub-WebSocketClient/1"))
            #expect(received[1].subject == "BankHub receipt: deposit of 100.00")
            #expect(received[2].subject == "BankHub receipt: transfer of 25.00")
            #expect(received[2].body.contains("Transfer from account \(account.stringValue ?? "") to account \(bob.account): 25.00"))
            #expect(received[2].body.contains("after it: 75.00"))

            // Four rows: bob's login notice too. Receipts are recorded right after their delivery, in the pass's commit.
            let lines = try await Self.settledOutbox(hub, count: 4).filter { $0["to"] == "alice@example.com" }
            #expect(lines.map { $0["subject"]?.stringValue ?? "" } == [
                "BankHub receipt: transfer of 25.00", "BankHub receipt: deposit of 100.00", "New login to BankHub",
            ])
            for line in lines {
                #expect(line["status"] == "sent" && line["attempts"] == .integer(1) && line["channel"] == "email")
                #expect(line["id"]?.int64Value != nil && line["created_at"]?.stringValue != nil)
                #expect(line["body"]?.stringValue?.isEmpty == false)
            }
        }
    }

    /// With the SMTP server down the message stays `pending` with a counted attempt and the error kept;
    /// once the server is up the retry delivers it and it is `sent`.
    @Test func retriesUntilTheServerIsUp() async throws {
        let port = try SMTPPeer.unusedPort()
        try await TestHub.with(configure: Self.smtp(port: port, retryBaseMilliseconds: 500)) { hub in
            _ = try await Self.emailUser(hub, "carol")
            var pending: OutboxRecord?
            for _ in 0..<100 where pending == nil {
                pending = try Self.records(hub).first { $0.attempts > 0 }
                if pending == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let failed = try #require(pending, "the first attempt was never made")
            #expect(failed.status == .pending)
            #expect(failed.lastError?.contains("connection_failed") == true)

            let peer = try await SMTPPeer.start(.init(port: port))
            defer { peer.stop() }
            let received = try await peer.waitForMessages(1)
            #expect(received.first?.subject == "New login to BankHub")
            let line = try #require(try await Self.settledOutbox(hub, count: 1).first)
            #expect(line["status"] == "sent")
            #expect((line["attempts"]?.int64Value ?? 0) >= 2)
        }
    }

    /// A server that never comes back: after `attemptsMax` failures the message is `failed` with its error.
    @Test func failsForGoodAfterFiveAttempts() async throws {
        let port = try SMTPPeer.unusedPort()
        try await TestHub.with(configure: Self.smtp(port: port, retryBaseMilliseconds: 10)) { hub in
            _ = try await Self.emailUser(hub, "dave")
            let line = try #require(try await Self.settledOutbox(hub, count: 1).first)
            #expect(line["status"] == "failed")
            #expect(line["attempts"] == .integer(5))
            #expect(line["last_error"]?.stringValue?.contains("connection_failed") == true)
        }
    }

    /// SMS when preferred, possible and really delivered (a gateway), else e-mail, else the other channel;
    /// with neither, `user:NAME` on SMS.
    @Test func routesByPreferenceAndWhatTheUserHas() {
        func user(email: String?, phone: String?) -> UserRecord {
            UserRecord(id: UserID(1), username: "u", role: .customer, status: .active, email: email, phone: phone,
                       fullName: nil, createdAt: Timestamp(milliseconds: 0))
        }
        let both = user(email: "u@example.com", phone: "+15550100")
        #expect(Notifier.route(both, prefer: .sms, smsGateway: true) == (.sms, "+15550100"))
        #expect(Notifier.route(both, prefer: .email, smsGateway: true) == (.email, "u@example.com"))
        #expect(Notifier.route(user(email: nil, phone: "+15550100"), prefer: .email, smsGateway: true) == (.sms, "+15550100"))
        #expect(Notifier.route(user(email: "u@example.com", phone: nil), prefer: .sms, smsGateway: true) == (.email, "u@example.com"))
        #expect(Notifier.route(user(email: nil, phone: nil), prefer: .sms, smsGateway: true).1.hasPrefix("user:"))
        // Without a gateway an SMS reaches only the log: a code meant for SMS goes by e-mail when it can.
        #expect(Notifier.route(both, prefer: .sms, smsGateway: false) == (.email, "u@example.com"))
        #expect(Notifier.route(user(email: nil, phone: "+15550100"), prefer: .sms, smsGateway: false) == (.sms, "+15550100"))
    }

    /// 1, 2, 4, 8 s after the first four failures; the fifth is final.
    @Test func backsOffExponentiallyThenGivesUp() {
        let configuration = NotificationConfiguration()
        #expect((1...5).map { configuration.retryDelayMilliseconds(afterFailures: $0) } == [1_000, 2_000, 4_000, 8_000, nil])
    }

    private static func records(_ hub: TestHub) throws -> [OutboxRecord] {
        let connection = try hub.database()
        return try OutboxRecords.recent(connection, limit: 10)
    }
}
