import BankCore
import BankStorage
import BankStore

/// Queues the monthly e-mails of a month that has ended: to every customer with an e-mail address their
/// statement (each account's opening, money in, money out, closing and number of transactions), to every
/// admin with an address the monthly report.
///
/// Each user gets each month's e-mail at most once, however often this runs and from wherever (the hub's
/// job on the 1st, `bankhub statements`, both at once from two processes): the outbox row and the user's
/// `statement_mailings` row, whose primary key is (user, month), are written in one commit, and a batch only
/// picks users without that row inside the same write transaction (SQLite lets one writer at a time in).
public enum MonthlyStatements {
    /// What one run queued.
    public struct Summary: Sendable, Equatable {
        public var statements = 0
        public var adminReports = 0
        public init() {}
    }

    /// The month `bankhub statements` and the hub's job may mail: one that has ended (before `now`'s month).
    public static func isMailable(_ month: CalendarMonth, now: Timestamp) -> Bool {
        month < CalendarMonth(containing: now)
    }

    /// Queues every e-mail of `month` not yet queued, `perCommit` users per commit, through `writer`.
    public static func queue(month: CalendarMonth, writer: any StorageWriter, perCommit: Int = 100) async throws -> Summary {
        precondition(perCommit >= 1, "a commit handles at least one user")
        var summary = Summary()
        for kind in [StatementRecords.MailingKind.statement, .adminReport] {
            while true {
                let queued = try await writer.write { db in
                    try mailBatch(db, month: month, kind: kind, limit: perCommit, at: Clock.now())
                }
                if kind == .statement { summary.statements += queued } else { summary.adminReports += queued }
                if queued < perCommit { break }
            }
        }
        return summary
    }

    /// `bankhub statements --db PATH --month YYYY-MM`: opens the database (beside a running hub, whose outbox
    /// worker then delivers the messages within a second), queues the month's e-mails and closes it.
    public static func queue(databasePath: String, month: CalendarMonth) async throws -> Summary {
        let writer = try DatabaseWriter(path: databasePath)
        defer { writer.close() }
        return try await queue(month: month, writer: writer)
    }

    /// One commit's worth: up to `limit` users of `kind`'s role not yet mailed for `month`, each with an
    /// outbox row and the row that remembers it. Runs inside a write transaction; returns how many.
    static func mailBatch(_ db: any SQLDatabase, month: CalendarMonth, kind: StatementRecords.MailingKind,
                          limit: Int, at: Timestamp) throws -> Int {
        let role: Role = kind == .statement ? .customer : .admin
        let users = try StatementRecords.unmailedUsers(db, month: month, role: role, limit: limit)
        guard !users.isEmpty else { return 0 }
        let bounds = try StatementRecords.bounds(db, month: month)
        let activity = kind == .adminReport ? try StatementRecords.activity(db, month: month) : nil
        for user in users {
            guard let email = user.email, !email.isEmpty else { preconditionFailure("only users with an address are picked") }
            let (subject, body): (String, String)
            if let activity {
                (subject, body) = StatementMail.adminReport(to: user, month: month, activity: activity)
            } else {
                let accounts = try StatementRecords.accounts(db, ownedBy: user.id, openedBefore: month).map { account in
                    StatementMail.AccountMonth(account: account,
                                               totals: try StatementRecords.totals(db, account: account.id, bounds: bounds))
                }
                (subject, body) = StatementMail.statement(to: user, month: month, accounts: accounts)
            }
            let outbox = try OutboxRecords.insert(db, channel: Notifier.Channel.email.rawValue, recipient: email,
                                                  subject: String(subject.prefix(Notifier.subjectLengthMax)),
                                                  body: String(body.prefix(Notifier.bodyLengthMax)), at: at)
            try StatementRecords.insertMailing(db, user: user.id, month: month, kind: kind, outbox: outbox, at: at)
        }
        return users.count
    }
}
