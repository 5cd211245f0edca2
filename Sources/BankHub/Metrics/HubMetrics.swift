import BankCore
import BankStorage
import CoreMetrics
import Dispatch
import Metrics
import Synchronization

/// What the hub records through swift-metrics (the `bankhub` executable bootstraps the Prometheus backend;
/// without a bootstrap every call here is a no-op). Names are Prometheus names; see docs/architecture.md
/// ("Metrics") for what each one means.
///
/// Labels come only from closed sets: an op's `Op` rawValue (an unknown op never reaches a `Responder`), an
/// `ErrorCode` rawValue or `ok`, a `ThreatKind` rawValue. Nothing a client sends becomes a label.
enum HubMetricName {
    static let connections = "bankhub_connections"
    static let requests = "bankhub_requests_total"
    static let requestDuration = "bankhub_request_duration_seconds"
    static let eventsPublished = "bankhub_events_published_total"
    static let commitBatchSize = "bankhub_commit_batch_size"
    static let commitDuration = "bankhub_commit_duration_seconds"
    static let commitSyncDuration = "bankhub_commit_sync_duration_seconds"
    static let outboxPending = "bankhub_outbox_pending"
    static let outboxDue = "bankhub_outbox_due"
    static let outboxLag = "bankhub_outbox_lag_seconds"
    static let receiptLag = "bankhub_receipt_lag_seconds"
    static let slowConsumerCloses = "bankhub_slow_consumer_closes_total"
    static let threats = "bankhub_threats_total"
    static let residentMemory = "process_resident_memory_bytes"
    static let openFileDescriptors = "process_open_fds"
    static let cpuSeconds = "process_cpu_seconds_total"
}

/// Recording helpers for the events the hub counts as they happen.
enum HubMetrics {
    /// One answered request: `code` is "ok" or the error's code.
    static func request(_ op: Op, code: String, durationNanoseconds: UInt64) {
        let (counter, timer) = RequestHandles.shared.handles(op, code: code)
        counter.increment()
        timer.recordNanoseconds(Int64(clamping: durationNanoseconds))
    }

    static func eventsPublished(_ count: Int) {
        guard count > 0 else { return }
        eventsPublishedCounter.increment(by: count)
    }

    /// Made on first use, like the request handles (see `RequestHandles`).
    private static let eventsPublishedCounter = Counter(label: HubMetricName.eventsPublished)

    static func threat(_ kind: ThreatKind) {
        Counter(label: HubMetricName.threats, dimensions: [("kind", kind.rawValue)]).increment()
    }

    /// Runs after each commit is durable (the writer's or the WAL syncer's thread). `syncNanoseconds` is the WAL
    /// fsync that covered it (nil without the commit pipeline, where it is inside the commit's duration).
    static func commit(batchSize: Int, durationNanoseconds: UInt64, syncNanoseconds: UInt64?) {
        commitBatchSize.record(batchSize)
        commitDuration.recordNanoseconds(Int64(clamping: durationNanoseconds))
        if let syncNanoseconds { commitSyncDuration.recordNanoseconds(Int64(clamping: syncNanoseconds)) }
    }

    private static let commitBatchSize = Recorder(label: HubMetricName.commitBatchSize, aggregate: true)
    private static let commitDuration = CoreMetrics.Timer(label: HubMetricName.commitDuration)
    private static let commitSyncDuration = CoreMetrics.Timer(label: HubMetricName.commitSyncDuration)
}

/// The request metrics' handles, made once per op and code and then reused: making a handle goes through the
/// metrics factory (a task-local read, a lock and a lookup by name and labels in the registry), which cost a few
/// microseconds on every request. Handles are made on first use, so the metrics system must be bootstrapped
/// before the hub serves (the `bankhub` executable does it first thing); the sets of ops and codes are closed, so
/// the table stays small.
final class RequestHandles: Sendable {
    static let shared = RequestHandles()

    private struct Key: Hashable {
        let op: Op
        let code: String
    }

    private let table = Mutex<[Key: (Counter, CoreMetrics.Timer)]>([:])

    func handles(_ op: Op, code: String) -> (Counter, CoreMetrics.Timer) {
        let key = Key(op: op, code: code)
        if let found = table.withLock({ $0[key] }) { return found }
        let made = (Counter(label: HubMetricName.requests, dimensions: [("op", op.rawValue), ("code", code)]),
                    CoreMetrics.Timer(label: HubMetricName.requestDuration, dimensions: [("op", op.rawValue)]))
        return table.withLock { table in
            if let found = table[key] { return found }
            table[key] = made
            return made
        }
    }
}

/// The values read at scrape time rather than recorded as they change: gauges set to the current value and
/// counters kept elsewhere (the transport's, the kernel's) mirrored by adding what grew since the last scrape.
final class ScrapeMetrics: Sendable {
    private struct Mirrored {
        var slowConsumerCloses = 0
        var cpuSeconds = 0.0
    }

    private let mirrored = Mutex(Mirrored())

    struct Reading: Sendable {
        var connections: Int
        var outboxPending: Int?
        /// How far delivery is behind (nil when the read failed: the gauges keep their last values).
        var backlog: DeliveryBacklog?
        var slowConsumerCloses: Int
        var process: ProcessStatistics.Reading?
    }

    /// Sets the gauges and advances the mirrored counters to `reading` (counters never go back).
    func update(_ reading: Reading) {
        Gauge(label: HubMetricName.connections).record(reading.connections)
        if let pending = reading.outboxPending { Gauge(label: HubMetricName.outboxPending).record(pending) }
        if let backlog = reading.backlog {
            Gauge(label: HubMetricName.outboxDue).record(backlog.outboxDue)
            Gauge(label: HubMetricName.outboxLag).record(backlog.outboxLagSeconds)
            Gauge(label: HubMetricName.receiptLag).record(backlog.receiptLagSeconds)
        }
        let (closesGrown, cpuGrown) = mirrored.withLock { last -> (Int, Double) in
            let closes = max(0, reading.slowConsumerCloses - last.slowConsumerCloses)
            last.slowConsumerCloses += closes
            let cpu = max(0, (reading.process?.cpuSeconds ?? last.cpuSeconds) - last.cpuSeconds)
            last.cpuSeconds += cpu
            return (closes, cpu)
        }
        // Created even at zero, so the family is always on the page.
        Counter(label: HubMetricName.slowConsumerCloses).increment(by: closesGrown)
        FloatingPointCounter(label: HubMetricName.cpuSeconds).increment(by: cpuGrown)
        if let process = reading.process {
            Gauge(label: HubMetricName.residentMemory).record(process.residentBytes)
            Gauge(label: HubMetricName.openFileDescriptors).record(process.openFileDescriptors)
        }
    }
}

/// How far the delivery of messages and receipts is behind, read at scrape time: what a user notices as a late
/// e-mail, and an operator otherwise never sees (a dead hub's claims, a stuck SMTP server, a transaction left open
/// on PostgreSQL that holds the receipt horizon back).
struct DeliveryBacklog: Sendable, Equatable {
    /// Pending outbox messages already due (not those waiting for a later retry).
    var outboxDue: Int
    /// Seconds since the earliest due message fell due; 0 when none is due.
    var outboxLagSeconds: Double
    /// Seconds since the earliest transaction not yet past the receipt cursor was made; 0 when none is.
    var receiptLagSeconds: Double

    /// The backlog on `db` at `now`: two small reads (`OutboxRecords.dueBacklog`, `ReceiptRecords.oldestWaiting`).
    /// `severalWriters`: hubs share the database (claims), so transactions commit in no id order.
    static func read(_ db: any SQLDatabase, now: Timestamp, severalWriters: Bool) throws -> DeliveryBacklog {
        let outbox = try OutboxRecords.dueBacklog(db, now: now)
        let receipt = try ReceiptRecords.oldestWaiting(db, severalWriters: severalWriters)
        return DeliveryBacklog(outboxDue: outbox.count, outboxLagSeconds: seconds(since: outbox.earliest, now: now),
                               receiptLagSeconds: seconds(since: receipt, now: now))
    }

    /// Seconds from `time` to `now`, never negative (a hub's clock may be behind another's); 0 without a time.
    static func seconds(since time: Timestamp?, now: Timestamp) -> Double {
        guard let time else { return 0 }
        return Double(max(0, now.milliseconds - time.milliseconds)) / 1_000
    }
}
