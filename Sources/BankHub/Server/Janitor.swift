import BankCore
import BankStorage
import Logging
import Synchronization

/// Deletes what the hub no longer needs, at start and then every `janitorIntervalMilliseconds`: expired
/// sessions, old one-time-code challenges, old login attempts and failed attempts past a number per user;
/// and moves old idempotency keys out of the ledger's full in-memory entries into 8-byte hashes.
///
/// Every delete goes through the writer as a job of at most `purgeBatchRowsMax` rows, awaited before the
/// next, so a purge shares group commits with the traffic and never holds the write lock long. The policy is
/// in `RetentionPolicy`; postings, transactions, events and the audit log are never purged.
final class Janitor: Sendable {
    /// What one pass removed.
    struct Report: Sendable, Equatable {
        var sessions = 0
        var challenges = 0
        var loginAttempts = 0
        /// Failed attempts deleted because their user had more than the per-user maximum.
        var loginFailures = 0
        /// Idempotency keys moved from full entries to hashes.
        var keysCompacted = 0

        var rows: Int { sessions + challenges + loginAttempts + loginFailures }
    }

    private let policy: RetentionPolicy
    private let writer: any StorageWriter
    private let readers: any StorageReaders
    private let ledger: any LedgerAuthority
    private let logger: Logger
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let passes = Atomic<Int>(0)

    init(policy: RetentionPolicy, writer: any StorageWriter, readers: any StorageReaders, ledger: any LedgerAuthority,
         logger: Logger) {
        policy.validate()
        self.policy = policy
        self.writer = writer
        self.readers = readers
        self.ledger = ledger
        self.logger = logger
    }

    /// Passes finished since start (for tests and health).
    var completedPasses: Int { passes.load(ordering: .acquiring) }

    /// Runs a pass now and then one every interval, until `stop`.
    func start() {
        let interval = policy.janitorIntervalMilliseconds
        let task = Task { [self] in
            while !Task.isCancelled {
                await pass(now: Clock.now())
                try? await Task.sleep(for: .milliseconds(interval))
            }
        }
        loop.withLock { running in
            precondition(running == nil, "the janitor is started once")
            running = task
        }
    }

    /// Ends the loop after the delete job in progress, if any. Call before the writer closes. Idempotent.
    func stop() async {
        guard let task = loop.withLock({ $0.take() }) else { return }
        task.cancel()
        await task.value
    }

    /// One pass with `now` as the current time. A failed delete is logged and retried by the next pass.
    @discardableResult
    func pass(now: Timestamp) async -> Report {
        let cutoffs = policy.cutoffs(now: now)
        var report = Report()
        do {
            report.sessions = try await purge { db, limit in
                try RetentionRecords.purgeSessions(db, expiredBefore: cutoffs.sessionsExpiredBefore, limit: limit)
            }
            report.challenges = try await purge { db, limit in
                try RetentionRecords.purgeChallenges(db, createdBefore: cutoffs.challengesCreatedBefore, limit: limit)
            }
            report.loginAttempts = try await purge { db, limit in
                try RetentionRecords.purgeLoginAttempts(db, madeBefore: cutoffs.loginAttemptsMadeBefore, limit: limit)
            }
            report.loginFailures = try await trimFailures()
        } catch {
            logger.warning("janitor: a purge failed, the next pass retries: \(error)")
        }
        report.keysCompacted = await ledger.compactKeys(recordedBefore: cutoffs.keysRecordedBefore)
        if report.rows > 0 || report.keysCompacted > 0 {
            logger.info("janitor: deleted \(report.sessions) sessions, \(report.challenges) challenges, \(report.loginAttempts + report.loginFailures) login attempts; \(report.keysCompacted) idempotency keys compacted")
        }
        passes.add(1, ordering: .releasing)
        return report
    }

    /// Runs `batch` through the writer, one job at a time, until a job deletes fewer rows than it may (nothing
    /// left) or the pass's bound is reached; returns the rows deleted.
    private func purge(_ batch: @escaping @Sendable (any SQLDatabase, Int) throws -> Int) async throws -> Int {
        let limit = policy.purgeBatchRowsMax
        var deleted = 0
        for _ in 0..<policy.purgeBatchesPerPassMax {
            if Task.isCancelled { break }
            let count = try await writer.write { db in try batch(db, limit) }
            assert((0...limit).contains(count), "a batch deletes at most its limit")
            deleted += count
            if count < limit { break }
        }
        return deleted
    }

    /// Trims the failed attempts of users past their maximum; the users are found on a reader.
    private func trimFailures() async throws -> Int {
        let (perUserMax, unknownMax) = (policy.loginFailuresPerUserMax, policy.loginFailuresUnknownUserMax)
        let usersMax = policy.loginFailureUsersPerPassMax
        let users = try await readers.read { db in
            try RetentionRecords.overFailureCap(db, perUserMax: perUserMax, unknownMax: unknownMax, limit: usersMax)
        }
        var deleted = 0
        for user in users {
            let keeping = user == nil ? unknownMax : perUserMax
            deleted += try await purge { db, limit in
                try RetentionRecords.trimFailures(db, of: user, keeping: keeping, limit: limit)
            }
        }
        return deleted
    }
}
