import BankStorage
import BankStore
import Foundation
import Testing

/// Codes as a person on the machine reads them: from the outbox (`bankhub outbox`).
extension TestHub {
    /// The id of the newest outbox row (0 when there is none).
    func lastOutboxID() throws -> Int64 {
        let connection = try database()
        return try connection.prepare("SELECT COALESCE(MAX(id), 0) FROM outbox").queryOne { $0.int64(0) } ?? 0
    }

    /// The six-digit code of the first message to `recipient` newer than outbox row `after` that holds one; waits
    /// for it (the outbox row is written in the commit after the reply). Receipts, and other messages without a
    /// code (a sign-in notice queued after `after` by an earlier login), are skipped.
    func code(to recipient: String, after: Int64) async throws -> String {
        for _ in 0..<250 {
            let connection = try database()
            let bodies = try connection.prepare("""
                SELECT body FROM outbox WHERE recipient = ? AND id > ? AND subject NOT LIKE 'BankHub receipt:%' ORDER BY id
                """)
                .query(recipient, after) { $0.string(0) }
            for body in bodies {
                if let range = body.range(of: #"\b[0-9]{6}\b"#, options: .regularExpression) { return String(body[range]) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no code to \(recipient) after outbox row \(after)")
        throw CancellationError()
    }
}
