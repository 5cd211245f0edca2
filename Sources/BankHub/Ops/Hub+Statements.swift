import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// statement: an account's month, with its opening and closing balances, money in and out, and its entries.
extension Hub {
    /// The most entries one `statement` answer holds (also the default `limit`); a longer month is paged
    /// with `after`.
    static let statementEntriesMax = 1_000

    func statement(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user
        let requested = try args.account("account")
        let month = try Self.month(args, now: Clock.now())
        let limit = Int(try args.optionalInteger("limit", in: 1...Int64(Self.statementEntriesMax))
                        ?? Int64(Self.statementEntriesMax))
        let after: Int64? = args.has("after") ? try args.identifier("after") : nil
        let account = try await readableAccount(requested, by: user)
        respond(responder) { [readers] in
            let page = try await readers.read { db in
                try StatementRecords.page(db, account: account, month: month, after: after, limit: limit)
            }
            return WireObjects.statement(page)
        }
    }

    /// The most entries the CSV download holds; a longer month is `too_large` (page it with `statement`).
    static let statementCSVEntriesMax = 100_000

    /// The CSV download of `account`'s `month` (`GET /statements/ACCOUNT/YYYY-MM.csv`) for `user`, who must be
    /// allowed to read it as with `statement` (else `not_found`); `month` as in `statement` (else
    /// `bad_request`). For the HTTP layer to serve as `text/csv; charset=utf-8`.
    func statementCSV(account requested: AccountID, month text: String, for user: UserRecord) async throws(BankError) -> String {
        let month = try Self.month(text, now: Clock.now())
        let account = try await readableAccount(requested, by: user)
        var entries: [HistoryEntry] = []
        var after: Int64?
        repeat {
            let cursor = after
            let page: StatementPage
            do {
                page = try await readers.read { db in
                    try StatementRecords.page(db, account: account, month: month, after: cursor, limit: Self.statementEntriesMax)
                }
            } catch {
                throw BankError(.internalError, "the statement could not be read")
            }
            entries += page.entries
            after = page.next
            guard entries.count <= Self.statementCSVEntriesMax else {
                throw BankError(.tooLarge, "the month has more than \(Self.statementCSVEntriesMax) entries; page it with the statement op")
            }
        } while after != nil
        return StatementCSV.render(entries)
    }

    /// `month`: `YYYY-MM`, a real month from 1970-01, not after the current one (UTC).
    static func month(_ args: Arguments, now: Timestamp) throws(BankError) -> CalendarMonth {
        try month(try args.string("month"), now: now)
    }

    static func month(_ text: String, now: Timestamp) throws(BankError) -> CalendarMonth {
        guard let month = CalendarMonth.parse(text) else {
            throw .badRequest("month must be YYYY-MM, such as 2026-11, from 1970-01", field: "month")
        }
        guard month <= CalendarMonth(containing: now) else {
            throw .badRequest("month \(month) has not begun", field: "month")
        }
        return month
    }
}
