import ArgumentParser
import BankCore
import BankHub
import BankStorage
import BankStore

/// `bankhub statements --db PATH --month YYYY-MM`: queues an ended month's statement e-mails (customers with
/// an e-mail address) and admin reports now, as the hub does on the 1st. Each user gets each month's e-mail
/// at most once, however often this runs and whether or not a hub runs on the same database (its outbox
/// worker then sends them within a second; otherwise the next hub to start does).
struct StatementsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statements",
        abstract: "Queue the monthly statement e-mails and admin reports of an ended month (each user once).")

    @Option(help: "SQLite database file of the hub (SQLite only: a hub on PostgreSQL, serve --database, is not read by this command).") var db = "./data/bankhub.sqlite"
    @Option(help: "The month, YYYY-MM (UTC); it must have ended.") var month: String

    func run() async throws {
        guard let parsed = CalendarMonth.parse(month) else {
            throw ValidationError("--month must be YYYY-MM, such as 2026-10, from 1970-01")
        }
        guard MonthlyStatements.isMailable(parsed, now: Clock.now()) else {
            throw ValidationError("--month \(parsed) has not ended yet (statements are for whole months, UTC)")
        }
        let summary = try await MonthlyStatements.queue(databasePath: db, month: parsed)
        Console.line("queued \(summary.statements) statement\(summary.statements == 1 ? "" : "s") and "
                     + "\(summary.adminReports) admin report\(summary.adminReports == 1 ? "" : "s") for \(parsed)")
    }
}
