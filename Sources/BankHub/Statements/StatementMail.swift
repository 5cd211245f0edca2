import BankCore
import BankStorage

/// The text of the monthly e-mails: a customer's statement (each account's month in figures) and the admins'
/// report (users, accounts, money moved, logins per day). Pure.
enum StatementMail {
    /// One account's line of a customer's statement e-mail.
    struct AccountMonth: Sendable {
        let account: AccountRecord
        let totals: StatementTotals
    }

    static func statement(to user: UserRecord, month: CalendarMonth, accounts: [AccountMonth]) -> (String, String) {
        var lines = ["Hello \(user.fullName ?? user.username),", "",
                     "Your BankHub statement for \(month) (UTC, \(month.start.rfc3339) to \(month.end.rfc3339)):", ""]
        if accounts.isEmpty { lines.append("You had no accounts this month.") }
        for entry in accounts {
            let totals = entry.totals
            lines.append("Account \(entry.account.id) (\(entry.account.name)): opening \(totals.opening), "
                         + "in \(totals.credits), out \(totals.debits), closing \(totals.closing), "
                         + "\(totals.count) transaction\(totals.count == 1 ? "" : "s")")
        }
        lines.append("")
        lines.append("Every transaction is listed by the statement op in the app, and as CSV.")
        return ("Your BankHub statement for \(month)", lines.joined(separator: "\n"))
    }

    static func adminReport(to user: UserRecord, month: CalendarMonth, activity: MonthlyActivity) -> (String, String) {
        let moved = activity.deposits.total.cents + activity.withdrawals.total.cents + activity.transfers.total.cents
        var lines = [
            "Hello \(user.fullName ?? user.username),", "",
            "BankHub in \(month) (UTC):", "",
            "Users: \(activity.usersTotal) at the end of the month, \(activity.usersNew) new",
            "Customer accounts: \(activity.accountsTotal) at the end of the month, \(activity.accountsNew) opened",
            "Money moved: \(Money(cents: moved)) in \(activity.deposits.count + activity.withdrawals.count + activity.transfers.count) transactions",
            "  Deposits:    \(activity.deposits.count), \(activity.deposits.total)",
            "  Withdrawals: \(activity.withdrawals.count), \(activity.withdrawals.total)",
            "  Transfers:   \(activity.transfers.count), \(activity.transfers.total)",
            "", "Logins per day:",
        ]
        for (index, count) in activity.loginsPerDay.enumerated() {
            let day = index + 1
            lines.append("  \(month)-\(day < 10 ? "0\(day)" : "\(day)"): \(count)")
        }
        return ("BankHub monthly report for \(month)", lines.joined(separator: "\n"))
    }
}
