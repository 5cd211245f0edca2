import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// customers, transactions (employees and admins); users, audit (admins); and which accounts a caller may read.
/// Read-only: these answer from a reader connection and change nothing.
extension Hub {
    /// Rows in a page of `transactions`, `users` and `audit` when `limit` is not given, and the most allowed.
    static let staffPageDefault = 50
    static let staffPageMax = 200
    /// The most customers one `customers` search answers with.
    static let customersMax = 100
    /// The longest search text, in characters.
    static let searchQueryLengthMax = 100

    func searchCustomers(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let query = try args.optionalText("query", lengthMax: Self.searchQueryLengthMax)
        let limit = try Self.pageLimit(args, max: Self.customersMax)
        respond(responder) { [services] in
            let found = try await services.readers.read { db in try StaffRecords.customers(db, query: query, limit: limit) }
            return ["customers": .array(found.map(WireObjects.customer))]
        }
    }

    /// The transaction journal, newest first, narrowed by user, account, kind and time, paged by id.
    func listTransactions(_ args: Arguments, _ responder: Responder) throws(BankError) {
        var filter = TransactionFilter()
        if args.has("user") { filter.user = UserID(try args.identifier("user")) }
        if args.has("account") { filter.account = try args.account("account") }
        if let kind = try args.optionalString("kind") {
            guard let parsed = TransactionKind(rawValue: kind) else {
                throw .badRequest("kind must be one of " + TransactionKind.allCases.map(\.rawValue).joined(separator: ", "),
                                  field: "kind")
            }
            filter.kind = parsed
        }
        if args.has("from") { filter.from = try args.timestamp("from") }
        if args.has("to") { filter.to = try args.timestamp("to") }
        if let from = filter.from, let to = filter.to, to < from {
            throw .badRequest("to must not be before from", field: "to")
        }
        let limit = try Self.pageLimit(args, max: Self.staffPageMax)
        let before = try Self.cursor(args)
        respond(responder) { [services, filter] in
            let rows = try await services.readers.read { db in
                try StaffRecords.transactions(db, filter, limit: limit + 1, before: before)
            }
            return WireObjects.page("transactions", rows: rows, limit: limit, cursor: \.id.rawValue,
                                    encode: WireObjects.journalEntry)
        }
    }

    /// Every user with role, status and last successful login, newest first.
    func listUsers(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let query = try args.optionalText("query", lengthMax: Self.searchQueryLengthMax)
        let limit = try Self.pageLimit(args, max: Self.staffPageMax)
        let before = try Self.cursor(args)
        respond(responder) { [services] in
            let rows = try await services.readers.read { db in
                try StaffRecords.users(db, query: query, limit: limit + 1, before: before)
            }
            return WireObjects.page("users", rows: rows, limit: limit, cursor: \.user.id.rawValue,
                                    encode: WireObjects.userOverview)
        }
    }

    /// The audit log, newest first.
    func listAudit(_ args: Arguments, _ responder: Responder) throws(BankError) {
        let limit = try Self.pageLimit(args, max: Self.staffPageMax)
        let before = try Self.cursor(args)
        respond(responder) { [services] in
            let rows = try await services.readers.read { db in try AuditRecords.page(db, limit: limit + 1, before: before) }
            return WireObjects.page("entries", rows: rows, limit: limit, cursor: \.id, encode: WireObjects.auditEntry)
        }
    }

    /// An account whose statement the caller may read: their own, or any customer account for an admin.
    /// Anything else is `not_found`, so ids are not confirmed to strangers.
    func readableAccount(_ account: AccountID, by user: UserRecord) async throws(BankError) -> AccountID {
        guard user.role == .admin else { return try await ownedAccount(account, by: user.id) }
        guard try await services.ledger.owner(of: account) != nil else { throw .notFound("no account \(account)") }
        return account
    }

    /// `limit` from 1 to `max`; `staffPageDefault` (or `max` when smaller) when absent.
    private static func pageLimit(_ args: Arguments, max: Int) throws(BankError) -> Int {
        precondition(max >= 1, "a page holds at least one row")
        let limit = try args.optionalInteger("limit", in: 1...Int64(max)) ?? Int64(min(staffPageDefault, max))
        return Int(limit)
    }

    /// `before`: a `next` cursor from an earlier page (an id), or nil for the first page.
    private static func cursor(_ args: Arguments) throws(BankError) -> Int64? {
        args.has("before") ? try args.identifier("before") : nil
    }
}
