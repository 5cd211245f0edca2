import ArgumentParser
import BankHub
import BankWire

/// `bankhub outbox`: the newest notification messages (codes, login notices, receipts) and whether they went
/// out, so a person or a test on the same machine can read a code. Opens the database read-only, which is
/// safe while a hub runs on it.
struct OutboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Print recent notification messages, newest first.")

    @Option(help: "SQLite database file of the hub (SQLite only: a hub on PostgreSQL, serve --database, is not read by this command).") var db = "./data/bankhub.sqlite"
    @Option(help: "How many messages (1...\(OutboxListing.limitMax)).") var limit = 20
    @Flag(help: "One JSON object a line: id, to, channel, subject, body, status, attempts, created_at, sent_at, last_error.")
    var json = false

    func validate() throws {
        guard (1...OutboxListing.limitMax).contains(limit) else {
            throw ValidationError("--limit must be 1...\(OutboxListing.limitMax)")
        }
    }

    func run() throws {
        let entries: [OutboxListing.Entry]
        do {
            entries = try OutboxListing.recent(databasePath: db, limit: limit)
        } catch {
            throw OutboxUnreadable(message: "cannot read the outbox of \(db): \(error)")
        }
        if json {
            for entry in entries { Console.line(JSONWriter.string(entry.json)) }
        } else if entries.isEmpty {
            Console.line("the outbox of \(db) is empty")
        } else {
            Console.line(OutboxListing.table(entries))
        }
    }
}

/// The database is missing, unreadable or older than the outbox (schema 2); printed as "Error: …", exit 1.
struct OutboxUnreadable: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
