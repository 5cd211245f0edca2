import BankCore
import BankStorage

/// An account just opened, and the transaction of its initial deposit when it had one.
struct OpenedAccount: Sendable {
    let account: AccountRecord
    let deposit: MoneyOutcome?
}

/// Opening customer accounts: with `open_account` (and an optional initial deposit in the same commit) and
/// with `signup` (the first account in the same commit as the user). Also which accounts may become payees.
extension LedgerService {
    /// Opens an account for `owner`, deposits `initialDeposit` into it (if any) in the same commit, and
    /// returns once that commit is durable. A refused opening (too many accounts) or a bad amount changes
    /// nothing. The deposit's receipt is derived from it by the outbox worker (`ReceiptBatch`).
    func openAccount(owner: UserID, name: String, initialDeposit: Money?,
                     at: Timestamp?) async throws(BankError) -> OpenedAccount {
        if let amount = initialDeposit, !amount.isPositive || amount > Money.amountMax {
            throw BankError(.invalidAmount, "initial_deposit must be between 0.01 and \(Money.amountMax)",
                            field: "initial_deposit")
        }
        let now = at ?? Clock.now()
        let account = try state.openAccount(owner: owner)
        let applied = initialDeposit.map { amount in deposit(amount, into: account.id, by: owner, at: now) }
        let outcome = applied.map { txn in
            MoneyOutcome(transaction: txn.id, command: txn.command, note: nil, at: now,
                         balance: txn.balanceAfter(account.id) ?? .zero, replayed: false)
        }
        let balances = applied?.postings.map { BalanceWrite(account: $0.account, balance: $0.balanceAfter) } ?? []
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            sequencer.submit(applied.map(LedgerEvents.drafts) ?? [], at: now, balances: balances, writing: { db, events in
                try LedgerRecords.insertAccount(db, account, name: name, at: now)
                if let applied {
                    try LedgerRecords.insertTransaction(db, applied, idempotencyKey: nil,
                                                        seqs: LedgerEvents.postingSeqs(for: applied, events: events))
                }
            }, completion: { continuation.resume() })
        }
        let record = AccountRecord(id: account.id, owner: owner, name: name, currency: "USD", status: .open,
                                   balance: outcome?.balance ?? .zero, createdAt: now)
        return OpenedAccount(account: record, deposit: outcome)
    }

    /// A valid amount into the owner's new, open, empty account: the rules cannot refuse it, and the account
    /// is already open in memory, so a refusal would be a bug.
    private func deposit(_ amount: Money, into account: AccountID, by owner: UserID, at now: Timestamp) -> AppliedTransaction {
        do {
            return try state.apply(.deposit(account: account, amount: amount), by: owner, note: nil, at: now)
        } catch {
            preconditionFailure("an initial deposit into a new account was refused: \(error)")
        }
    }

    /// Signs `user` up with a first customer account named `accountName`, both in one commit; returns them
    /// once durable. A taken username (`conflict`) stores neither.
    ///
    /// The account's owner id exists only inside that commit, so the account id is reserved first and the
    /// account joins the ledger's memory after the commit: until then no op can name it, and nobody knows it.
    func signUp(_ user: UserRecords.NewUser, accountName: String) async throws -> (UserRecord, AccountRecord) {
        let id = state.reserveAccountID()
        let now = user.at
        let (record, account) = try await sequencer.writer.write { db -> (UserRecord, LedgerState.Account) in
            let record = try UserRecords.insert(db, user)
            let account = LedgerState.Account(id: id, owner: record.id, kind: .customer, status: .open, balance: .zero)
            try LedgerRecords.insertAccount(db, account, name: accountName, at: now)
            return (record, account)
        }
        // Other work ran on this actor during the write; none of it could take the reserved id.
        state.register(account)
        return (record, AccountRecord(id: id, owner: record.id, name: accountName, currency: "USD", status: .open,
                                      balance: .zero, createdAt: now))
    }

    /// Whether `user` may save `account` as a payee: another customer's account that is not closed. The
    /// caller's own accounts, internal accounts (cash, goals) and unknown ids are not.
    func isPayable(_ account: AccountID, by user: UserID) -> Bool {
        guard let found = state.accounts[account], found.kind == .customer, found.status != .closed else { return false }
        return found.owner != user
    }
}
