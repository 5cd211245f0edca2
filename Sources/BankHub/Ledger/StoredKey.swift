import BankCore
import BankStorage

/// What the database holds for an idempotency key older than the recent window: the registry's `Resolution`
/// and, when the key was used, the original result to replay.
///
/// The slow path of such a retry: the registry's hash set says "maybe", a reader says what it was. The
/// transaction is committed (only committed keys leave the full entries), so a reader's snapshot has it.
struct StoredKey: Sendable {
    let resolution: IdempotencyRegistry.Resolution
    /// The original result with `replayed: true`; nil when the key is not stored.
    let outcome: MoneyOutcome?

    /// Reads `user`'s transaction with `key` on a reader. `generation` is the registry's, taken before the read.
    static func read(_ readers: any StorageReaders, user: UserID, key: String,
                     generation: Int) async throws(BankError) -> StoredKey {
        let found: (TransactionRecord, Money, GoalRecord?)?
        do {
            found = try await readers.read { db -> (TransactionRecord, Money, GoalRecord?)? in
                guard let record = try LedgerRecords.transaction(db, user: user, idempotencyKey: key) else { return nil }
                guard let balance = try LedgerRecords.balance(db, of: record.command.reportedAccount, after: record.id) else {
                    throw BankError(.internalError, "transaction \(record.id) has no posting on its account")
                }
                return (record, balance, try GoalRecords.goal(db, after: record))
            }
        } catch {
            throw error as? BankError ?? BankError(.internalError, "could not read the idempotency key's transaction")
        }
        guard let (record, balance, goal) = found else {
            return StoredKey(resolution: .init(generation: generation, stored: nil), outcome: nil)
        }
        let entry = IdempotencyRegistry.Entry(fingerprint: .init(record.command, note: record.note), transaction: record.id)
        let outcome = MoneyOutcome(transaction: record.id, command: record.command, note: record.note, at: record.at,
                                   balance: balance, replayed: true, goal: goal)
        return StoredKey(resolution: .init(generation: generation, stored: entry), outcome: outcome)
    }
}
