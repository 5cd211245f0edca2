import BankCore
import BankStorage

/// The balances a commit must write: one UPDATE per account however many of the batch's transfers touched
/// it, holding the value of the last one (jobs run in ledger order, so the last is the newest).
struct BatchBalances {
    private var latest: [AccountID: Money] = [:]

    mutating func record(_ writes: [BalanceWrite]) {
        for write in writes { latest[write.account] = write.balance }
    }

    /// Writes them in account order (neighbouring rows share pages) and forgets them.
    mutating func flush(_ connection: SQLiteConnection) throws {
        guard !latest.isEmpty else { return }
        for (account, balance) in latest.sorted(by: { $0.key < $1.key }) {
            try LedgerRecords.updateBalance(connection, account, balance)
        }
        latest.removeAll(keepingCapacity: true)
    }
}
