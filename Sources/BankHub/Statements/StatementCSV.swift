import BankCore
import BankStorage

/// A statement as CSV (RFC 4180), for `GET /statements/ACCOUNT/YYYY-MM.csv`: a header line
/// `date,txn,kind,description,amount,balance`, then one line per entry, oldest first, every line (the last
/// included) ended by CRLF. A field holding a comma, a double quote, CR or LF is put in double quotes with its
/// quotes doubled. Pure: the HTTP route reads the entries (`StatementRecords.page`) and serves this text as
/// `text/csv; charset=utf-8`.
///
/// `date` is the entry's time in RFC 3339 UTC with milliseconds (as `at` in `history`); `amount` is signed
/// (negative when money left the account) and `balance` is the balance after the entry, both with two
/// decimals. `description` always starts with fixed text ("Deposit", "Transfer to account 1002", …) followed
/// by `: note` when there is one, so no cell starts with text a customer chose: a note such as `=HYPERLINK(…)`
/// cannot become a spreadsheet formula (CSV injection).
public enum StatementCSV {
    public static let header = ["date", "txn", "kind", "description", "amount", "balance"]

    public static func render(_ entries: [HistoryEntry]) -> String {
        var text = line(header)
        for entry in entries {
            text += line([entry.at.rfc3339, entry.transaction.description, entry.kind.rawValue, description(of: entry),
                          entry.amount.description, entry.balanceAfter.description])
        }
        return text
    }

    /// What happened, in words: the kind, the other account of a transfer, and the note.
    static func description(of entry: HistoryEntry) -> String {
        let base: String
        switch entry.kind {
        case .deposit: base = "Deposit"
        case .withdrawal: base = "Withdrawal"
        case .transfer:
            let other = entry.counterparty.map { "account \($0)" } ?? "the bank"
            base = entry.amount.cents < 0 ? "Transfer to \(other)" : "Transfer from \(other)"
        case .goalFund: base = "Into savings goal " + (entry.counterparty.map { "\($0)" } ?? "")
        case .goalWithdraw: base = "From savings goal " + (entry.counterparty.map { "\($0)" } ?? "")
        }
        guard let note = entry.note, !note.isEmpty else { return base }
        return "\(base): \(note)"
    }

    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// One field, quoted when it holds a comma, a double quote, CR or LF (quotes inside doubled).
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
