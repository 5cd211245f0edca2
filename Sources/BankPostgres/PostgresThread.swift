import DedicatedThreads
import Foundation
import Synchronization

/// A dedicated thread that owns one `PostgresConnection` and runs jobs on it, so libpq's blocking calls never
/// occupy Swift's cooperative pool. Jobs queue behind a mutex; the thread drains what is queued and hands it to
/// `process` in groups of at most `jobsMax`, which is how many callers' operations share one transaction.
/// The thread itself is a `DedicatedThread` (wake-up, stop, join, OS name), like BankStore's connection threads.
final class PostgresThread<Job: Sendable>: Sendable {
    private let pending = LockedQueue<Job>()
    private let thread: DedicatedThread
    let jobsMax: Int

    /// Opens the connection on the new thread and starts draining jobs; throws what `open` throws.
    init(name: String, jobsMax: Int, open: @escaping @Sendable () throws(PostgresError) -> PostgresConnection,
         process: @escaping @Sendable (PostgresConnection, [Job]) -> Void) throws(PostgresError) {
        precondition(jobsMax > 0, "a group holds at least one job")
        self.jobsMax = jobsMax
        let pending = self.pending
        thread = try DedicatedThread.opening(name: name, open: open) { connection, control in
            // Runs until `stop`, then runs what is still queued and returns (closing the connection).
            while true {
                let more = control.waitForWork()
                while case let jobs = pending.take(max: jobsMax), !jobs.isEmpty {
                    process(connection, jobs)
                }
                if !more { return }
            }
        }
    }

    /// Queues `job`; wakes the thread when the queue was empty.
    func submit(_ job: Job) {
        if pending.append(job) { thread.wake() }
    }

    /// Runs every job already queued, then ends the thread. Idempotent.
    func stop() {
        thread.stop()
    }
}

