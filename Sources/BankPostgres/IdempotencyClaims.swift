import BankCore

/// Step 1 of a batch: the idempotency keys. Same key never moves money twice, across connections and so across
/// hubs: a key is claimed in `idempotency_keys` before any account is locked; a hub that finds the key claimed
/// by another's open transaction waits for its COMMIT, then finds it committed and replays its transaction.
///
/// `idempotency_keys` only serializes the hubs: the record of a used key is its transaction (`transactions`,
/// `UNIQUE (user_id, idempotency_key)`, kept for ever). So the claims of committed keys may be pruned once no
/// batch can still be waiting on them (`PostgresLedger.pruneKeyClaims`): a key whose claim was pruned is
/// claimed afresh, then found in `transactions` and replayed, like any key claimed by an earlier commit.
enum IdempotencyClaims {
    /// The keys of `operations`, once each, in claim order (user, key); empty when none has one.
    static func keys(_ operations: [LedgerOperation]) -> [UserKey] {
        Set(operations.compactMap(\.userKey)).sorted()
    }

    /// The two statements that claim `keys` (not empty) and read the committed transactions of all of them:
    /// those of keys claimed by an earlier commit, and those of keys claimed here whose earlier claim was pruned.
    /// They open the batch's first pipeline, the claim first: the server runs the read after the claim has
    /// finished (waiting for another hub's COMMIT included), so it sees what that commit stored.
    static func statements(_ keys: [UserKey], at: Timestamp) -> [PostgresConnection.PipelineStep] {
        precondition(!keys.isEmpty, "statements for at least one key")
        let users = PostgresArray.integers(keys.map(\.user.rawValue))
        let texts = PostgresArray.texts(keys.map(\.key))
        return [.prepared(LedgerSQL.claimKeys, [users, texts, String(at.milliseconds)]),
                .prepared(LedgerSQL.storedKeys, [users, texts])]
    }

    /// What the two `statements` answered: the keys claimed here, and the committed transaction of each key.
    static func read(claim: PostgresResult, stored: PostgresResult)
        -> (claimed: Set<UserKey>, stored: [UserKey: StoredTransaction]) {
        let claimed = Set((0..<claim.rowCount).map { UserKey(user: UserID(claim.int64($0, 0)), key: claim.string($0, 1)) })
        return (claimed, StoredTransaction.read(stored))
    }
}

/// A committed transaction found by its idempotency key, with its postings' balances after.
struct StoredTransaction {
    let id: TransactionID
    let command: LedgerCommand
    let note: String?
    let at: Timestamp
    var balancesAfter: [AccountID: Money]

    var fingerprint: IdempotencyRegistry.Fingerprint { .init(command, note: note) }

    /// The original answer, reporting `account`'s balance right after it; nil when it has no posting there.
    func outcome(reporting account: AccountID) -> LedgerOutcome? {
        guard let balance = balancesAfter[account] else { return nil }
        return LedgerOutcome(transaction: id, command: command, note: note, at: at, balance: balance, replayed: true,
                             events: [])
    }

    /// Rows of `LedgerSQL.storedKeys` (one per posting), by key.
    static func read(_ rows: PostgresResult) -> [UserKey: StoredTransaction] {
        var found: [UserKey: StoredTransaction] = [:]
        for row in 0..<rows.rowCount {
            let key = UserKey(user: UserID(rows.int64(row, 0)), key: rows.string(row, 1))
            let account = AccountID(rows.int64(row, 9))
            let balance = Money(cents: rows.int64(row, 10))
            if found[key] != nil {
                found[key]?.balancesAfter[account] = balance
                continue
            }
            let amount = Money(cents: rows.int64(row, 4))
            let debited = AccountID(rows.int64(row, 5))
            let credited = AccountID(rows.int64(row, 6))
            guard let kind = TransactionKind(rawValue: rows.string(row, 3)) else {
                preconditionFailure("the schema allows only known transaction kinds")
            }
            let command = LedgerCommand(stored: kind, debited: debited, credited: credited, amount: amount)
            found[key] = StoredTransaction(id: TransactionID(rows.int64(row, 2)), command: command,
                                           note: rows.optionalString(row, 7),
                                           at: Timestamp(milliseconds: rows.int64(row, 8)),
                                           balancesAfter: [account: balance])
        }
        return found
    }
}
