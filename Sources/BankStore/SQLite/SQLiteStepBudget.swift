import CSQLite

/// A read asked SQLite for more work than its budget allows; nothing was answered from it.
public struct SQLiteStepBudgetExceeded: Error, CustomStringConvertible, Sendable {
    /// The budget that was spent, in SQLite virtual-machine steps.
    public let stepsMax: Int

    public var description: String { "the query needed more than \(stepsMax) SQLite steps" }
}

/// How many virtual-machine steps what runs on one connection may still take. SQLite calls the progress
/// handler every `stepsPerCheck` steps; once the budget is spent the handler answers "interrupt" and the
/// running statement ends with SQLITE_INTERRUPT. Steps, not time: the same query on the same data is always
/// either within budget or not, whatever else the machine is doing.
final class SQLiteStepBudget {
    /// Steps between two calls of the progress handler (its granularity; also the cost of checking).
    static let stepsPerCheck: Int32 = 1_000

    private var checksLeft = 0
    private(set) var isExhausted = false

    func start(stepsMax: Int) {
        precondition(stepsMax >= Int(Self.stepsPerCheck), "a budget covers at least one check interval")
        checksLeft = stepsMax / Int(Self.stepsPerCheck)
        isExhausted = false
    }

    /// One check interval spent; false once the budget is gone (the statement is then interrupted).
    func spend() -> Bool {
        if checksLeft > 0 { checksLeft -= 1 }
        if checksLeft == 0 { isExhausted = true }
        return !isExhausted
    }
}

/// The progress handler: `context` is the connection's `SQLiteStepBudget`, alive as long as the connection.
private func spendStepBudget(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    return Unmanaged<SQLiteStepBudget>.fromOpaque(context).takeUnretainedValue().spend() ? 0 : 1
}

extension SQLiteConnection {
    /// Runs `body` with at most `stepsMax` SQLite virtual-machine steps for everything it runs on this
    /// connection; throws `SQLiteStepBudgetExceeded` when they were not enough (also when `body` swallowed the
    /// interrupt: what it returned would be incomplete).
    public func withStepBudget<T>(_ stepsMax: Int, _ body: () throws -> T) throws -> T {
        stepBudget.start(stepsMax: stepsMax)
        // The budget object outlives the handler: both belong to this connection, and the handler is removed
        // below before the call returns.
        sqlite3_progress_handler(handle, SQLiteStepBudget.stepsPerCheck, spendStepBudget,
                                 Unmanaged.passUnretained(stepBudget).toOpaque())
        defer { sqlite3_progress_handler(handle, 0, nil, nil) }
        let result: T
        do {
            result = try body()
        } catch {
            if stepBudget.isExhausted { throw SQLiteStepBudgetExceeded(stepsMax: stepsMax) }
            throw error
        }
        if stepBudget.isExhausted { throw SQLiteStepBudgetExceeded(stepsMax: stepsMax) }
        return result
    }
}
