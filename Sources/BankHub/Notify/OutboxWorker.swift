import BankCore
import BankStorage
import DedicatedThreads
import Dispatch
import Foundation
import Logging
import Synchronization

/// Delivers outbox messages and the receipts of committed transactions, on a thread of its own because a sink
/// blocks (an SMTP conversation waits on a server for up to its timeouts) and must never hold one of the two
/// threads of Swift's cooperative pool.
///
/// Each pass reads, through its own read-only connection (WAL: it sees the last commit), at most
/// `batchMessagesMax` due `pending` rows and at most `batchMessagesMax` transactions after the receipt cursor
/// (`ReceiptBatch`), delivers each message through the sink of its channel and records the outcomes through
/// the writer, all of a pass in one write: `sent`, or another attempt after 1, 2, 4, 8 s, or `failed` after
/// `attemptsMax` failures; a receipt becomes an outbox row there (already `sent`, or `pending` for its retry)
/// and the cursor moves past its transaction. So the ledger's commit writes no receipt. A pass starts when a
/// message is queued or a transaction committed (`wake`), when the previous pass was full, and at least every
/// `pollIntervalMilliseconds`; never sooner than `passIntervalMillisecondsMin` after the previous pass started. Delivery is at least once: a crash between a send and its record sends that
/// message again after restart (the SMTP sink repeats its Message-ID so receivers can tell); a clean stop
/// records what it sent.
///
/// On PostgreSQL (`HubStorage.claims`) every hub of the database may run a worker: a pass first claims its due
/// messages and the receipt cursor, on a read-write connection of its own (`WorkClaims`: `FOR UPDATE SKIP
/// LOCKED`, a lease of `claimLeaseMilliseconds` naming this hub), and works only on what it claimed, so each
/// message and receipt goes out from one hub; the record of the pass gives the claims back. There hubs commit in
/// no id order, so the holder of the cursor reads only the transactions below the receipt horizon
/// (`WorkClaims.receiptHorizon`): one committed later is never read past, only delayed. A hub that dies
/// holding claims leaves them to the others once its heartbeat passes (`HubLiveness`, about 5 s), one alive but
/// stuck once the lease ends. No delivery starts in the last `claimMarginMilliseconds` of the lease, so a pass
/// that runs into a server's timeouts ends before its claims do, nor while this hub's heartbeat is not known to
/// be live (`HubLiveness.isAlive`: before its first beat, or cut off from the database), when it claims nothing
/// either. A message is then sent twice only when a hub stalls longer than the margin in the middle of one send,
/// or loses the database for longer than its heartbeat during one.
final class OutboxWorker: Sendable {
    private let openReadConnection: @Sendable () throws -> any SQLDatabase
    /// Several hubs may share the database (PostgreSQL): work is claimed per row. Nil on SQLite.
    private let claims: (any WorkClaims)?
    /// With claims: whether this hub's heartbeat is live, asked before claiming and before each delivery.
    private let liveness: HubLiveness?
    private let writer: any StorageWriter
    private let sinks: NotificationSinks
    private let configuration: NotificationConfiguration
    private let logger: Logger
    /// Claimed by the first `start` (or a `stop` before any): a stopped worker stays stopped.
    private let started = OnceFlag()
    private let thread = Mutex<DedicatedThread?>(nil)
    /// Set by `wake` and cleared by each pass, so a burst of messages costs one extra pass, not one each.
    private let wakePending = Atomic(false)

    /// The longest the worker waits for the writer to record an outcome before giving up on that record.
    static let recordWaitSecondsMax = 30

    /// How long a pass's claims last (PostgreSQL): far longer than a pass that sends its batch normally takes.
    static let claimLeaseMilliseconds: Int64 = 120_000
    /// No delivery starts once less than this is left of the pass's claims: more than one SMTP conversation
    /// stuck at its timeouts (5 s to connect, 30 s per reply) takes before it gives up in practice.
    static let claimMarginMilliseconds: Int64 = 60_000
    /// How often a hub whose heartbeat is not known to be live looks again (no database work: a local check).
    static let notAliveWaitMilliseconds = 100

    init(storage: HubStorage, sinks: NotificationSinks, configuration: NotificationConfiguration, logger: Logger) {
        configuration.validate()
        self.openReadConnection = storage.openReadConnection
        self.claims = storage.claims
        self.liveness = storage.liveness
        self.writer = storage.writer
        self.sinks = sinks
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts the thread. Once only; a stopped worker stays stopped.
    func start() {
        guard started.claim() else { return }
        let worker = DedicatedThread(name: "bankhub-outbox") { [self] control in run(control) }
        thread.withLock { $0 = worker }
    }

    /// Asks for a pass now (a message was queued, or a transaction with a receipt committed).
    func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) { thread.withLock { $0 }?.wake() }
    }

    /// Lets the message being delivered finish and be recorded, then ends the thread. Call before the writer
    /// closes. Idempotent.
    func stop() {
        _ = started.claim()
        thread.withLock { $0 }?.stop()
    }

    private func run(_ control: DedicatedThread.Control) {
        var connection: (any SQLDatabase)?
        var claimConnection: (any SQLDatabase)?
        var lastPass = ContinuousClock.now - .milliseconds(Self.passIntervalMillisecondsMin)
        while !control.isStopping {
            Self.spacePasses(after: lastPass)
            lastPass = ContinuousClock.now
            wakePending.store(false, ordering: .releasing)
            var waitMilliseconds = configuration.pollIntervalMilliseconds
            if claims != nil, let liveness, !liveness.isAlive() {
                // Before the first beat, or cut off from the database: the other hubs may take what this one
                // would claim, so it claims and sends nothing until a beat succeeds again.
                _ = control.waitForWork(timeoutSeconds: Double(Self.notAliveWaitMilliseconds) / 1_000)
                continue
            }
            do {
                let db = try connection ?? openReadConnection()
                connection = db
                // Both taken before anything is sent, so a failed read never leaves a delivery unrecorded.
                let work: Work
                if let claims {
                    let claimDB = try claimConnection ?? claims.openConnection()
                    claimConnection = claimDB
                    work = try claim(claims, claimDB, readDB: db)
                } else {
                    work = Work(due: try OutboxRecords.due(db, limit: configuration.batchMessagesMax, now: Clock.now()),
                                batch: try ReceiptBatch.read(db, horizon: nil, limit: configuration.batchMessagesMax),
                                until: nil)
                }
                var outcomes: [Outcome] = []
                for message in work.due where !control.isStopping && work.mayStart() { outcomes.append(deliver(message)) }
                var attempts: [OutboxRecords.FirstAttempt] = []
                for receipt in work.batch.receipts {
                    if control.isStopping || !work.mayStart() { break }
                    attempts.append(deliver(receipt))
                }
                let recorded = record(outcomes, receipts: work.batch.prefix(attempts.count), attempts,
                                      release: claims == nil ? [] : work.due.map(\.id))
                if let claims, let claimDB = claimConnection, work.receiptsClaimed, recorded {
                    // After the record is durable: the next holder reads the cursor where this pass left it.
                    try claims.releaseReceipts(claimDB)
                }
                // Claiming, a hub does not count due rows another hub holds (they may be held for a lease).
                let nextDue = try claims != nil && work.due.isEmpty ? nil : OutboxRecords.nextDue(db)
                waitMilliseconds = Self.wait(after: max(work.due.count, work.batch.read), nextDue: nextDue,
                                             configuration: configuration)
            } catch {
                logger.error("outbox: cannot read due messages", metadata: ["error": "\(error)"])
                connection = nil
                claimConnection = nil
            }
            if waitMilliseconds > 0 { _ = control.waitForWork(timeoutSeconds: Double(waitMilliseconds) / 1_000) }
        }
    }

    /// What one pass delivers: due messages and the receipts after the cursor (on PostgreSQL, those it claimed).
    private struct Work {
        let due: [OutboxRecord]
        let batch: ReceiptBatch
        /// When the pass's claims end (ms), nil without claims.
        let until: Int64?
        /// With claims: this hub's heartbeat, which must still be live for a delivery to start.
        var liveness: HubLiveness? = nil
        var receiptsClaimed = false

        /// Whether another delivery may start: always without claims, else while the margin is left and this
        /// hub's heartbeat is live (the other hubs cannot have taken its claims yet).
        func mayStart() -> Bool {
            guard let until else { return true }
            return Clock.nowMilliseconds() < until - OutboxWorker.claimMarginMilliseconds && (liveness?.isAlive() ?? true)
        }
    }

    /// Claims this pass's due messages and, when no other hub holds it, the receipt cursor, then reads the
    /// receipts after it (none when another hub holds it: that hub sends them) of the transactions below the
    /// receipt horizon, taken before the read on the same connection: several hubs commit in no id order, and
    /// the horizon keeps the read from passing a transaction that commits later (`ReceiptRecords`).
    private func claim(_ claims: any WorkClaims, _ claimDB: any SQLDatabase, readDB: any SQLDatabase) throws -> Work {
        let now = Clock.now()
        let until = Timestamp(milliseconds: now.milliseconds + Self.claimLeaseMilliseconds)
        let due = try claims.claimMessages(claimDB, limit: configuration.batchMessagesMax, now: now, until: until)
        do {
            guard try claims.claimReceipts(claimDB, now: now, until: until) else {
                return Work(due: due, batch: ReceiptBatch.none, until: until.milliseconds, liveness: liveness)
            }
            let horizon = try claims.receiptHorizon(readDB)
            var work = Work(due: due, batch: try ReceiptBatch.read(readDB, horizon: horizon,
                                                                    limit: configuration.batchMessagesMax),
                            until: until.milliseconds, liveness: liveness)
            work.receiptsClaimed = true
            return work
        } catch {
            // Nothing is sent this pass: the messages go back at once rather than wait out the lease.
            try? claims.releaseMessages(claimDB, ids: due.map(\.id))
            try? claims.releaseReceipts(claimDB)
            throw error
        }
    }

    /// How long to sleep after a pass: not at all after a full batch (more may be due), else until the next
    /// retry is due, but at least `passIntervalMillisecondsMin` (a row that cannot be recorded must not spin
    /// the thread) and at most the poll interval.
    static func wait(after taken: Int, nextDue: Timestamp?, configuration: NotificationConfiguration) -> Int {
        guard taken < configuration.batchMessagesMax else { return 0 }
        let poll = configuration.pollIntervalMilliseconds
        guard let nextDue else { return poll }
        let untilDue = nextDue.milliseconds - Clock.nowMilliseconds()
        return Int(min(max(untilDue, Int64(passIntervalMillisecondsMin)), Int64(poll)))
    }

    /// The shortest sleep between passes that did not fill a batch, and the least time from one pass's start to
    /// the next's.
    static let passIntervalMillisecondsMin = 10

    /// Sleeps until `passIntervalMillisecondsMin` has passed since `lastPass` started. Every commit with a
    /// receipt wakes the worker; at thousands of transfers a second a pass per wake-up cost a read, a write job
    /// and a commit of a few receipts each (9 % of the hub's CPU in `fanout`): spaced, a pass takes every receipt
    /// committed meanwhile, and a receipt leaves at most this much later.
    private static func spacePasses(after lastPass: ContinuousClock.Instant) {
        let next = lastPass + .milliseconds(passIntervalMillisecondsMin)
        let now = ContinuousClock.now
        guard now < next else { return }
        let (seconds, attoseconds) = (next - now).components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// What became of one delivery attempt, to record.
    private enum Outcome: Sendable {
        case sent(id: Int64, at: Timestamp)
        case retry(id: Int64, error: String, nextAttemptAt: Timestamp?)

        var id: Int64 {
            switch self {
            case .sent(let id, _), .retry(let id, _, _): id
            }
        }
    }

    /// Delivers one message through its channel's sink; the outcome is recorded with the rest of the pass.
    private func deliver(_ message: OutboxRecord) -> Outcome {
        precondition(message.status == .pending, "only pending messages are delivered")
        let outcome = Result { try sinks.sink(for: message.channel).deliver(message) }
        let now = Clock.now()
        switch outcome {
        case .success:
            return .sent(id: message.id, at: now)
        case .failure(let error):
            let failures = message.attempts + 1
            let delay = configuration.retryDelayMilliseconds(afterFailures: failures)
            let next = delay.map { Timestamp(milliseconds: now.milliseconds + $0) }
            logger.warning("outbox: delivery failed", metadata: [
                "outbox": "\(message.id)", "channel": "\(message.channel)", "attempt": "\(failures)",
                "error": "\(error)", "next_attempt_at": "\(next?.rfc3339 ?? "never (failed)")",
            ])
            return .retry(id: message.id, error: "\(error)", nextAttemptAt: next)
        }
    }

    /// Delivers a receipt that has no row yet; the outcome becomes its row with the rest of the pass.
    private func deliver(_ receipt: ReceiptBatch.Receipt) -> OutboxRecords.FirstAttempt {
        let message = ReceiptBatch.outboxRecord(receipt)
        do {
            try sinks.sink(for: message.channel).deliver(message)
            return .sent(at: Clock.now())
        } catch {
            let delay = configuration.retryDelayMilliseconds(afterFailures: 1)
            let next = delay.map { Timestamp(milliseconds: Clock.nowMilliseconds() + $0) }
            logger.warning("outbox: receipt delivery failed", metadata: [
                "transaction": "\(receipt.transaction)", "channel": "\(message.channel)", "attempt": "1",
                "error": "\(error)", "next_attempt_at": "\(next?.rfc3339 ?? "never (failed)")",
            ])
            return .failed(error: "\(error)", nextAttemptAt: next)
        }
    }

    /// Waits up to `recordWaitSecondsMax` for `done`; gives up early when the writer has stopped (fail-stop),
    /// since a stopped writer never answers the jobs of the batch it stopped on. False when it gave up.
    private static func wait(for done: DispatchSemaphore, writer: any StorageWriter) -> Bool {
        for _ in 0..<(recordWaitSecondsMax * 10) {
            if done.wait(timeout: .now() + .milliseconds(100)) == .success { return true }
            if writer.isHalted { return false }
        }
        return false
    }

    /// Records the outcomes of a pass in one job of the writer's next commit and waits until it is durable,
    /// so the next pass reads them: the rows' outcomes, and the receipts as new rows with the cursor moved past
    /// `receipts.through`. When the cursor no longer stands where this pass read it (an earlier pass's record
    /// committed after its wait gave up), the receipts were recorded then and are not recorded again. With
    /// claims, the same job gives back the claims of the messages in `release` (recorded, or not attempted).
    /// True once it is durable (or there was nothing to record).
    @discardableResult
    private func record(_ outcomes: [Outcome], receipts: ReceiptBatch, _ attempts: [OutboxRecords.FirstAttempt],
                        release: [Int64]) -> Bool {
        precondition(receipts.receipts.count == attempts.count, "one attempt per receipt")
        guard !outcomes.isEmpty || receipts.through > receipts.from || !release.isEmpty else { return true }
        let claims = self.claims
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        let logger = self.logger
        writer.submit(.savepoint, { db in
            for outcome in outcomes {
                let recorded = switch outcome {
                case .sent(let id, let at): try OutboxRecords.markSent(db, id: id, at: at)
                case .retry(let id, let error, let next):
                    try OutboxRecords.markRetry(db, id: id, error: error, nextAttemptAt: next)
                }
                // Only with several hubs on one database: another hub's worker took the same row and recorded it
                // first (both delivered it: at least once). One hub is the database's only writer of its rows.
                if !recorded { logger.warning("outbox: message already recorded by another hub", metadata: ["id": "\(outcome.id)"]) }
            }
            if let claims { try claims.releaseMessages(db, ids: release) }
            guard receipts.through > receipts.from else { return }
            guard try ReceiptRecords.advance(db, from: receipts.from, to: receipts.through) else {
                logger.warning("outbox: receipts already recorded", metadata: ["through": "\(receipts.through)"])
                return
            }
            for (receipt, attempt) in zip(receipts.receipts, attempts) {
                let message = receipt.message
                try OutboxRecords.insertAttempted(db, channel: message.channel.rawValue, recipient: message.recipient,
                                                  subject: message.subject, body: message.body, createdAt: receipt.at,
                                                  attempt: attempt)
            }
        }, completion: { result in
            if case .failure(let error) = result { failure.withLock { $0 = error } }
            done.signal()
        })
        if !Self.wait(for: done, writer: writer) {
            logger.error("outbox: the writer did not record outcomes in time",
                         metadata: ["messages": "\(outcomes.count)", "receipts": "\(attempts.count)"])
            return false
        } else if let error = failure.withLock({ $0 }) {
            logger.error("outbox: cannot record outcomes",
                         metadata: ["messages": "\(outcomes.count)", "receipts": "\(attempts.count)", "error": "\(error)"])
            return false
        }
        return true
    }
}
