import BankCore

/// An account's balance after a job, to be written with the job's commit.
public struct BalanceWrite: Sendable {
    public let account: AccountID
    public let balance: Money

    public init(account: AccountID, balance: Money) {
        self.account = account
        self.balance = balance
    }
}
