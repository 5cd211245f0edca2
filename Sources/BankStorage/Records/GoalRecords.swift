import BankCore

/// A savings goal as stored: its account (whose id is the goal's id), the customer account it saves from,
/// its name, target and target date, and what it holds (`saved`, the goal account's balance).
public struct GoalRecord: Sendable, Equatable {
    public let id: AccountID
    public let account: AccountID
    public let owner: UserID
    public let name: String
    public let target: Money
    /// A calendar date `YYYY-MM-DD`, or nil.
    public let targetDate: String?
    public let saved: Money
    public let createdAt: Timestamp

    public init(id: AccountID, account: AccountID, owner: UserID, name: String, target: Money, targetDate: String?,
                saved: Money, createdAt: Timestamp) {
        precondition(target.isPositive && saved.cents >= 0, "a goal's target is positive and its savings never negative")
        self.id = id
        self.account = account
        self.owner = owner
        self.name = name
        self.target = target
        self.targetDate = targetDate
        self.saved = saved
        self.createdAt = createdAt
    }

    /// The same goal holding `saved` (after a movement).
    public func holding(_ saved: Money) -> GoalRecord {
        GoalRecord(id: id, account: account, owner: owner, name: name, target: target, targetDate: targetDate,
                   saved: saved, createdAt: createdAt)
    }
}

/// Savings goals: the goal's account row (kind `goal`, with `parent_id`) and its `goals` row. Their money
/// moves through `LedgerRecords.insertTransaction` like any other.
public enum GoalRecords {
    /// Writes a new goal: its (empty) account and its target. Runs in the ledger job that opened it.
    public static func insert(_ db: any SQLDatabase, _ goal: GoalRecord, account: LedgerState.Account) throws {
        precondition(account.kind == .goal && account.id == goal.id && account.parent == goal.account,
                     "the goal's account is the goal account opened for it")
        try LedgerRecords.insertAccount(db, account, name: goal.name, at: goal.createdAt)
        try db.prepare("INSERT INTO goals(account_id, target, target_date) VALUES (?, ?, ?)")
            .run(goal.id.rawValue, goal.target.cents, goal.targetDate)
    }

    /// The open goals of `owner`, oldest first, with committed savings.
    public static func goals(_ db: any SQLDatabase, ownedBy owner: UserID) throws -> [GoalRecord] {
        try db.prepare(columns + " WHERE a.owner_id = ? AND a.kind = 'goal' AND a.status = 'open' ORDER BY a.id")
            .query(owner.rawValue, row: goal)
    }

    /// The goal `id` of `owner`, deleted or not (the ledger decides what may still happen to it), or nil when
    /// it is another customer's or no goal at all.
    public static func goal(_ db: any SQLDatabase, _ id: AccountID, ownedBy owner: UserID) throws -> GoalRecord? {
        try db.prepare(columns + " WHERE a.id = ? AND a.owner_id = ? AND a.kind = 'goal'")
            .queryOne(id.rawValue, owner.rawValue, row: goal)
    }

    /// For a goal movement, its goal as the movement left it (what it then held); nil for other transactions.
    public static func goal(_ db: any SQLDatabase, after txn: TransactionRecord) throws -> GoalRecord? {
        guard let id = txn.command.goal, let goal = try goal(db, id, ownedBy: txn.user),
              let saved = try LedgerRecords.balance(db, of: id, after: txn.id) else { return nil }
        return goal.holding(saved)
    }

    /// Every open goal (the ledger keeps their names and targets in memory).
    public static func openGoals(_ db: any SQLDatabase) throws -> [GoalRecord] {
        try db.prepare(columns + " WHERE a.kind = 'goal' AND a.status = 'open'").query(row: goal)
    }

    private static let columns = """
        SELECT a.id, a.parent_id, a.owner_id, a.name, g.target, g.target_date, a.balance, a.created_at
        FROM accounts a JOIN goals g ON g.account_id = a.id
        """

    private static func goal(_ row: any SQLRow) -> GoalRecord {
        GoalRecord(id: AccountID(row.int64(0)), account: AccountID(row.int64(1)), owner: UserID(row.int64(2)),
                   name: row.string(3), target: Money(cents: row.int64(4)), targetDate: row.optionalString(5),
                   saved: Money(cents: row.int64(6)), createdAt: Timestamp(milliseconds: row.int64(7)))
    }
}
