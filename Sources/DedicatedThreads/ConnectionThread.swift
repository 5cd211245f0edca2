import Dispatch
import Synchronization

/// A dedicated thread that owns one database connection (SQLite's, libpq's) and runs jobs on it, so blocking
/// database calls never occupy Swift's small cooperative thread pool (two threads on this machine). The
/// connection is opened, used and closed on the thread alone, so it need not be `Sendable`.
///
/// Jobs queue behind a mutex; the thread drains everything queued at once and hands it to `process` in
/// batches of at most `batchJobsMax`, which is how the writer groups many operations into one commit.
public final class ConnectionThread<Connection, Job: Sendable>: Sendable {
    private let pending: LockedQueue<Job>
    private let thread: DedicatedThread
    public let batchJobsMax: Int

    /// Opens the connection on the new thread and starts draining jobs. Throws if `open` throws.
    /// `beforeBatch` runs before each batch is taken (the writer waits there for room in its commit pipeline,
    /// so jobs that arrive meanwhile join the batch); `finish` runs last, before the connection closes. `queue`
    /// is where submitted jobs wait: pass one to look at it from `process` (the writer checks whether anything
    /// is queued behind the batch it committed).
    public init<Failure: Error>(name: String, batchJobsMax: Int, queue: LockedQueue<Job> = LockedQueue<Job>(),
                                open: @escaping @Sendable () throws(Failure) -> Connection,
                                beforeBatch: (@Sendable () -> Void)? = nil,
                                finish: (@Sendable () -> Void)? = nil,
                                process: @escaping @Sendable (Connection, [Job]) -> Void) throws(Failure) {
        precondition(batchJobsMax > 0, "a batch holds at least one job")
        self.batchJobsMax = batchJobsMax
        self.pending = queue
        let pending = queue
        thread = try DedicatedThread.opening(name: name, open: open) { connection, control in
            while true {
                let more = control.waitForWork()
                while true {
                    beforeBatch?()
                    let jobs = pending.take(max: batchJobsMax)
                    if jobs.isEmpty { break }
                    process(connection, jobs)
                }
                if !more {
                    finish?()
                    return
                }
            }
        }
    }

    public func submit(_ job: Job) {
        if pending.append(job) { thread.wake() }
    }

    /// Jobs waiting to run (for health and back-pressure).
    public var queuedCount: Int { pending.count }

    /// Runs every job already queued, then ends the thread and closes the connection. Idempotent.
    public func stop() {
        thread.stop()
    }
}
