/// The pace and limits of the hub's timed work: the standing-order scheduler and the monthly statements job.
/// Every limit is documented in docs/protocol.md ("Standing orders", "Monthly statements").
public struct SchedulerConfiguration: Sendable {
    /// The longest the standing-order scheduler sleeps between two looks for due payments (it wakes earlier
    /// when a payment falls due sooner).
    public var orderCheckIntervalMilliseconds = 1_000
    /// Due payments one look starts; more due ones are started by the next look, right after.
    public var paymentsPerCheckMax = 256
    /// How long shutdown waits for payments under way to be committed before closing the database.
    public var stopWaitMillisecondsMax = 5_000
    /// Whether the hub queues last month's statement e-mails by itself (off: only `bankhub statements` does).
    public var monthlyStatementsEnabled = true
    /// How often the monthly statements job looks whether last month's e-mails are all queued.
    public var statementsCheckIntervalMilliseconds = 60_000
    /// Users whose monthly e-mail one commit queues.
    public var mailingsPerCommitMax = 100

    public init() {}

    func validate() {
        precondition(orderCheckIntervalMilliseconds >= 1 && orderCheckIntervalMilliseconds <= 1_000,
                     "standing orders are checked at least once a second")
        precondition(paymentsPerCheckMax >= 1 && mailingsPerCommitMax >= 1 && stopWaitMillisecondsMax >= 0,
                     "scheduler limits must be positive")
        precondition(statementsCheckIntervalMilliseconds >= 1, "the statements job needs a positive interval")
    }
}
