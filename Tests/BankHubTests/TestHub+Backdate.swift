import BankCore
@testable import BankHub
import BankStorage
import BankStore
import Foundation
import Testing

/// Ledger history in an earlier month, for statement tests: the same ledger path the demo data uses to
/// backdate (`LedgerService.submit(at:)`, `openAccount(at:)`), and a user's sign-up time moved back in the
/// database file. Call these before any transaction of the present, so that transaction ids stay in time order.
extension TestHub {
    /// Applies `command` by `user` at `at` and waits for its commit.
    func backdated(_ command: LedgerCommand, by user: String, note: String? = nil, at: Timestamp) async throws -> MoneyOutcome {
        let request = MoneyRequest(command: command, user: UserID(Int64(user)!), note: note, idempotencyKey: nil)
        let ledger = server.ledger
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<MoneyOutcome, BankError>, Never>) in
            Task { await ledger.submit(request, at: at) { continuation.resume(returning: $0) } }
        }
        return try result.get()
    }

    /// Moves a user's sign-up time (so that an earlier month's statement e-mail is due to them).
    func setCreatedAt(_ at: Timestamp, of username: String) throws {
        let connection = try database(write: true)
        try connection.prepare("UPDATE users SET created_at = ? WHERE username = ?").run(at.milliseconds, username)
        #expect(connection.changes == 1, "no user \(username)")
    }

    /// The month before the current one (UTC) and a time `offset` milliseconds into it.
    static var lastMonth: CalendarMonth { CalendarMonth(containing: Clock.now()).previous! }

    static func inLastMonth(_ offset: Int64) -> Timestamp {
        Timestamp(milliseconds: lastMonth.start.milliseconds + offset)
    }
}
