import BankCore

/// How long the hub keeps what it no longer needs, and how the janitor deletes it. Every value has its unit
/// last and is documented in docs/security.md ("Retention") and the limits table of docs/protocol.md.
///
/// Never purged, whatever these say: postings, transactions, events and the audit log.
public struct RetentionPolicy: Sendable {
    /// Time between two janitor passes; the first runs at start.
    public var janitorIntervalMilliseconds: Int64 = 3_600_000
    /// Rows one delete job removes at most, so a purge shares a group commit without holding the write lock long.
    public var purgeBatchRowsMax = 1_000
    /// Delete jobs per kind of row in one pass at most; anything left waits for the next pass.
    public var purgeBatchesPerPassMax = 1_000
    /// One-time-code challenges (any status) are deleted this long after they were created.
    public var challengeRetentionHours = 24
    /// Login attempts are deleted this long after they were made: `login_stats` over 13 months still counts.
    public var loginAttemptRetentionDays = 400
    /// A user's failed login attempts (any outcome but `success`) beyond their newest this many are deleted.
    public var loginFailuresPerUserMax = 1_000
    /// Failed attempts on usernames that do not exist (no user), all together, beyond the newest this many.
    public var loginFailuresUnknownUserMax = 100_000
    /// Users whose failed attempts one pass trims at most.
    public var loginFailureUsersPerPassMax = 1_000
    /// Idempotency keys younger than this are held in memory as full entries; older ones only as an 8-byte
    /// hash, whose hit makes a retry read the stored transaction.
    public var idempotencyRecentMilliseconds: Int64 = 86_400_000

    public init() {}

    /// The times before which each kind of row is deleted, for a pass at `now`.
    public struct Cutoffs: Sendable, Equatable {
        /// Sessions that expired before this.
        public let sessionsExpiredBefore: Timestamp
        public let challengesCreatedBefore: Timestamp
        public let loginAttemptsMadeBefore: Timestamp
        /// Idempotency keys recorded before this leave the full entries.
        public let keysRecordedBefore: Timestamp
    }

    public func cutoffs(now: Timestamp) -> Cutoffs {
        let hourMilliseconds: Int64 = 3_600_000
        return Cutoffs(
            sessionsExpiredBefore: now,
            challengesCreatedBefore: Timestamp(milliseconds: now.milliseconds - Int64(challengeRetentionHours) * hourMilliseconds),
            loginAttemptsMadeBefore: Timestamp(milliseconds: now.milliseconds - Int64(loginAttemptRetentionDays) * 24 * hourMilliseconds),
            keysRecordedBefore: Timestamp(milliseconds: now.milliseconds - idempotencyRecentMilliseconds))
    }

    func validate() {
        precondition(janitorIntervalMilliseconds > 0 && purgeBatchRowsMax > 0 && purgeBatchesPerPassMax > 0,
                     "the janitor runs now and then, and deletes something each time")
        precondition(challengeRetentionHours > 0 && loginAttemptRetentionDays > 0 && idempotencyRecentMilliseconds >= 0,
                     "retention times are not negative")
        precondition(loginFailuresPerUserMax >= 0 && loginFailuresUnknownUserMax >= 0 && loginFailureUsersPerPassMax > 0,
                     "failure caps are not negative")
    }
}
