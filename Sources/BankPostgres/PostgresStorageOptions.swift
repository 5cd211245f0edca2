/// How a hub's PostgreSQL storage behaves; the defaults are production's.
public struct PostgresStorageOptions: Sendable {
    /// What the writer does when it must not go on (a batch with ledger writes did not commit, or whether it
    /// committed is unknown): production stops the process, so memory and the database never disagree.
    /// Once it returns (tests only), the writer is halted and refuses every later job.
    public var failStop: @Sendable (String) -> Void
    /// The longest one statement of a read may run (`SET statement_timeout` on every reader session); past it
    /// the read fails with `unavailable` ("query too expensive"), like SQLite's step budget.
    public var readStatementMillisecondsMax: Int
    /// General readers (each a connection on a thread of its own); sign-in has one more of its own.
    public var generalReadersCount: Int
    /// Alone on the database, or one of several hubs (`PostgresHubLock`).
    public var hubLock: PostgresHubLock.Mode = .alone

    public static let stopProcess: @Sendable (String) -> Void = { reason in fatalError("stopping: \(reason)") }

    public init(failStop: @escaping @Sendable (String) -> Void = PostgresStorageOptions.stopProcess,
                readStatementMillisecondsMax: Int = 1_000, generalReadersCount: Int = 2) {
        precondition(readStatementMillisecondsMax > 0 && generalReadersCount > 0, "positive limits")
        self.failStop = failStop
        self.readStatementMillisecondsMax = readStatementMillisecondsMax
        self.generalReadersCount = generalReadersCount
    }
}
