import BankCore
@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Logging
import Testing

/// Monthly e-mailed statements: `bankhub statements` (the real binary) and the hub's own job queue one
/// statement per customer with an e-mail address and one report per admin with one, each (user, month)
/// once however often either runs.
@Suite(.serialized) struct MonthlyStatementTests {
    /// Runs `bankhub statements --db PATH --month MONTH`; returns its exit status and output.
    static func statementsCommand(_ hub: TestHub, month: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = CrashRecoveryTests.executable
        process.arguments = ["statements", "--db", hub.databasePath, "--month", month]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Last month's history: alice (e-mail) received 200.00 and sent 50.00 to bob (no e-mail); an admin and an
    /// employee with e-mail addresses; alice logged in last month.
    static func seedLastMonth(_ hub: TestHub) async throws {
        for (name, email) in [("alice", "alice@example.com"), ("bob", nil), ("adam", "adam@example.com"),
                              ("erin", "erin@example.com")] as [(String, String?)] {
            let client = try await hub.client()
            var args: JSONObject = ["username": .string(name), "password": "correct horse battery"]
            if let email { args.append(key: "email", value: .string(email)) }
            let signedUp = try await client.ok("signup", .object(args))
            try hub.setCreatedAt(TestHub.inLastMonth(60_000), of: name)
            // Sign-up opened the user's Checking account; it existed last month too.
            let account = try #require(signedUp["account"]?["id"]?.stringValue)
            let connection = try hub.database(write: true)
            try connection.prepare("UPDATE accounts SET created_at = ? WHERE id = ?")
                .run(TestHub.inLastMonth(120_000).milliseconds, Int64(account)!)
        }
        try hub.setRole(.admin, of: "adam")
        try hub.setRole(.employee, of: "erin")
        // Accounts are numbered in sign-up order: alice's, bob's, adam's, erin's.
        let alice = AccountID.firstCustomer, bob = AccountID(AccountID.firstCustomer.rawValue + 1)
        _ = try await hub.backdated(.deposit(account: alice, amount: Money(cents: 20_000)), by: "1", at: TestHub.inLastMonth(3_600_000))
        _ = try await hub.backdated(.transfer(from: alice, to: bob, amount: Money(cents: 5_000)), by: "1",
                                    at: TestHub.inLastMonth(2 * 86_400_000))
        let connection = try hub.database(write: true)
        try connection.prepare("""
            INSERT INTO login_attempts(user_id, username, ip, user_agent, outcome, created_at) VALUES (1, 'alice', '127.0.0.1', NULL, 'success', ?)
            """).run(TestHub.inLastMonth(86_400_000 + 5).milliseconds)
    }

    static func monthly(_ hub: TestHub) throws -> [JSONValue] {
        try NotifierTests.outboxJSON(hub).filter {
            ($0["subject"]?.stringValue ?? "").hasSuffix("for \(TestHub.lastMonth)")
        }
    }

    /// The command queues alice's statement and adam's report (not bob's: no address; not erin's: an
    /// employee), with last month's figures; run again, it queues nothing more. The current month, which
    /// has not ended, and a malformed month are refused.
    @Test(.disabled(if: TestDatabase.isPostgres, "bankhub statements opens SQLite files only"))
    func commandQueuesEachUsersMonthOnce() async throws {
        try await TestHub.with(configure: { $0.hub.scheduler.monthlyStatementsEnabled = false }) { hub in
            try await Self.seedLastMonth(hub)
            let month = TestHub.lastMonth.description
            let (status, output) = try Self.statementsCommand(hub, month: month)
            #expect(status == 0)
            #expect(output.contains("queued 1 statement and 1 admin report for \(month)"), "\(output)")
            let (again, second) = try Self.statementsCommand(hub, month: month)
            #expect(again == 0 && second.contains("queued 0 statements and 0 admin reports"), "\(second)")

            let messages = try Self.monthly(hub)
            #expect(messages.count == 2)
            let statement = try #require(messages.first { $0["to"] == "alice@example.com" })
            #expect(statement["subject"]?.stringValue == "Your BankHub statement for \(month)" && statement["channel"] == "email")
            #expect(statement["body"]?.stringValue?.contains(
                "Account 1001 (Checking): opening 0.00, in 200.00, out 50.00, closing 150.00, 2 transactions") == true)
            let report = try #require(messages.first { $0["to"] == "adam@example.com" })
            #expect(report["subject"]?.stringValue == "BankHub monthly report for \(month)")
            let body = report["body"]?.stringValue ?? ""
            #expect(body.contains("Money moved: 250.00 in 2 transactions"), "\(body)")
            #expect(body.contains("Customer accounts: 4 at the end of the month, 4 opened"), "each sign-up opened one")
            #expect(body.contains("\(month)-02: 1"), "one login on the 2nd")

            let current = CalendarMonth(containing: Clock.now()).description
            #expect(try Self.statementsCommand(hub, month: current).0 != 0)
            #expect(try Self.statementsCommand(hub, month: "2026-13").0 != 0)
        }
    }

    /// The hub's job queues last month's e-mails by itself; a second job (a restarted hub) and the command
    /// afterwards queue nothing more.
    @Test func hubJobQueuesLastMonthOnceAcrossRestarts() async throws {
        try await TestHub.with(configure: { $0.hub.scheduler.monthlyStatementsEnabled = false }) { hub in
            try await Self.seedLastMonth(hub)
            var configuration = SchedulerConfiguration()
            configuration.statementsCheckIntervalMilliseconds = 100
            var logger = Logger(label: "statements-test")
            logger.logLevel = .warning
            for _ in 0..<2 {
                let job = MonthlyStatementJob(writer: hub.server.writer, notifier: hub.server.notifier,
                                              configuration: configuration, logger: logger)
                job.start()
                var waited = 0
                while try Self.monthly(hub).count < 2, waited < 100 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                try await Task.sleep(for: .milliseconds(300))
                await job.stop()
            }
            #expect(try Self.monthly(hub).count == 2)
            if !TestDatabase.isPostgres {  // the command opens SQLite files only
                let (_, output) = try Self.statementsCommand(hub, month: TestHub.lastMonth.description)
                #expect(output.contains("queued 0 statements and 0 admin reports"), "\(output)")
            }
            let sent = try await NotifierTests.settledOutbox(hub, count: 2)
            #expect(sent.filter { ($0["subject"]?.stringValue ?? "").hasSuffix("for \(TestHub.lastMonth)") }.allSatisfy { $0["status"] == "sent" })
        }
    }
}
