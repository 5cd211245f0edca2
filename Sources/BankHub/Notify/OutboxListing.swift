import BankCore
import BankStorage
import BankStore
import BankWire

/// The outbox as `bankhub outbox` shows it: recent messages, newest first, read through a read-only
/// connection (safe while a hub runs on the same file: WAL readers never block the writer).
public enum OutboxListing {
    public struct Entry: Sendable, Equatable {
        public let id: Int64
        public let to: String
        public let channel: String
        public let subject: String
        public let body: String
        public let status: String
        public let attempts: Int
        public let createdAt: Timestamp
        public let sentAt: Timestamp?
        public let lastError: String?

        /// One JSON object: `id, to, channel, subject, body, status, attempts, created_at`, then `sent_at` and
        /// `last_error` (null when absent).
        public var json: JSONValue {
            [
                "id": .integer(id), "to": .string(to), "channel": .string(channel), "subject": .string(subject),
                "body": .string(body), "status": .string(status), "attempts": .integer(attempts),
                "created_at": .string(createdAt.rfc3339), "sent_at": sentAt.map { .string($0.rfc3339) } ?? .null,
                "last_error": lastError.map { .string($0) } ?? .null,
            ]
        }
    }

    /// The largest `--limit`.
    public static let limitMax = 10_000

    /// The newest `limit` messages of the database at `databasePath`. Throws when the file cannot be opened
    /// read-only or has no outbox (a database older than schema 2).
    public static func recent(databasePath: String, limit: Int) throws -> [Entry] {
        precondition((1...limitMax).contains(limit), "limit must be 1...\(limitMax)")
        let connection = try SQLiteConnection(path: databasePath, mode: .readOnly)
        try connection.execute("PRAGMA query_only = ON")
        return try recent(connection, limit: limit)
    }

    /// The newest `limit` messages read through `connection` (either engine).
    public static func recent(_ connection: any SQLDatabase, limit: Int) throws -> [Entry] {
        precondition((1...limitMax).contains(limit), "limit must be 1...\(limitMax)")
        return try OutboxRecords.recent(connection, limit: limit).map { record in
            Entry(id: record.id, to: record.recipient, channel: record.channel, subject: record.subject,
                  body: record.body, status: record.status.rawValue, attempts: record.attempts,
                  createdAt: record.createdAt, sentAt: record.sentAt, lastError: record.lastError)
        }
    }

    /// Aligned columns for people: id, created, channel, to, status, attempts, subject, and the body last (its
    /// line breaks shown as " / ") so a code can be read off the screen.
    public static func table(_ entries: [Entry]) -> String {
        let header = ["ID", "CREATED", "CHANNEL", "TO", "STATUS", "TRIES", "SUBJECT", "BODY"]
        let rows = entries.map { entry in
            [String(entry.id), entry.createdAt.rfc3339, entry.channel, entry.to, entry.status, String(entry.attempts),
             oneLine(entry.subject), oneLine(entry.body)]
        }
        let all = [header] + rows
        let widths = (0..<header.count - 1).map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            let padded = zip(row.dropLast(), widths).map { cell, width in
                cell + String(repeating: " ", count: width - cell.count)
            }
            return (padded + [row[row.count - 1]]).joined(separator: "  ")
        }.joined(separator: "\n")
    }

    private static func oneLine(_ text: String) -> String {
        text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).joined(separator: " / ")
    }
}
