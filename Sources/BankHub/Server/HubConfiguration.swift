import BankCrypto

/// The hub's limits and policies. Every limit is named here with its unit, has a default, and is printed
/// in docs/protocol.md.
public struct HubConfiguration: Sendable {
    /// Requests a connection may have unanswered at once; past this, `rate_limited`.
    public var requestsInFlightMax = 1_024
    /// Events `subscribe` will replay for one `since`; past this, `resync_required`.
    public var replayEventsMax = 10_000
    public var historyPageDefault = 50
    public var historyPageMax = 500
    public var sessionLifetimeHours = 24
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes (verification reads the count from each hash).
    public var passwordIterations = PasswordHasher.defaultIterations
    /// How long shutdown waits for requests in flight to be answered before closing connections.
    public var shutdownGraceMilliseconds = 5_000
    /// Login defence, rate limits, one-time codes and threat thresholds.
    public var security = SecurityPolicy()
    /// What is purged when, and how long idempotency keys stay full entries in memory (the janitor).
    public var retention = RetentionPolicy()
    /// The admin step-up key (only its hash); from `BANKHUB_ADMIN_KEY`.
    public var adminKey = AdminKey(secret: nil)
    /// The key of the stored one-time-code hashes, 64 hex characters, from `BANKHUB_CODE_KEY`; nil: the key file
    /// (`codeKeyFile`, else next to the SQLite database; created on first start, mode 0600). See `CodeKey`.
    public var codeKeyHex: String?
    /// The code key file (`--code-key-file`); nil: `<database>.code-key` beside the SQLite file. A hub on
    /// PostgreSQL needs this or `codeKeyHex`.
    public var codeKeyFile: String?
    /// How long a connection may stay anonymous (since it opened or its session ended) before it is closed
    /// with 4001.
    public var anonymousConnectionMillisecondsMax = 30_000
    /// How often the hub looks for connections past a deadline (time to log in, session expiry).
    public var deadlineCheckMilliseconds = 1_000
    /// Standing-order payments and the monthly statements job.
    public var scheduler = SchedulerConfiguration()
    /// Seconds between the comment lines that keep an idle event stream (`GET /api/v1/streams/...`) open
    /// through proxies.
    public var eventStreamHeartbeatSeconds = 15
    /// The `retry:` an event stream starts with: how long a browser's `EventSource` waits to reconnect.
    public var eventStreamRetryMilliseconds = 3_000
    /// `/readyz` writes through the writer at most this often (only when asked).
    public var readinessProbeIntervalMilliseconds = 5_000
    /// A readiness write still waiting after this long makes `/readyz` answer 503.
    public var readinessWriteTimeoutMilliseconds = 2_000
    /// After SIGTERM, how long `/readyz` answers 503 while everything else still works, so load balancers
    /// stop sending work before the hub refuses it.
    public var shutdownDrainMilliseconds = 0
    /// Several hubs serve one PostgreSQL database (set by `HubServer` when `postgres.hubLock` is `.shared`):
    /// failed logins and wrong codes are counted in the database, and the hub follows the other hubs' session
    /// revocations (`RevocationFeed`).
    public var severalHubs = false
    /// In several-hub mode, how often the hub reads the revocations the other hubs committed: a session revoked
    /// on one hub ends on the others within this (plus one read).
    public var revocationPollMilliseconds = 250

    public init() {}

    func validate() {
        precondition(requestsInFlightMax > 0 && replayEventsMax > 0, "limits must be positive")
        precondition((1...historyPageMax).contains(historyPageDefault), "the default page fits the maximum")
        retention.validate()
        precondition(anonymousConnectionMillisecondsMax > 0 && deadlineCheckMilliseconds > 0, "deadlines must be positive")
        scheduler.validate()
        precondition(eventStreamHeartbeatSeconds > 0 && eventStreamRetryMilliseconds > 0, "stream periods are positive")
        precondition(readinessProbeIntervalMilliseconds > 0 && readinessWriteTimeoutMilliseconds > 0,
                     "readiness periods are positive")
        precondition(shutdownDrainMilliseconds >= 0, "the drain period is not negative")
        precondition(revocationPollMilliseconds > 0, "the revocation poll period is positive")
    }
}
