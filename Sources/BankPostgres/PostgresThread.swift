import Foundation
import Synchronization

/// A dedicated thread that owns one `PostgresConnection` and runs jobs on it, so libpq's blocking calls never
/// occupy Swift's cooperative pool. Jobs queue behind a mutex; the thread drains what is queued and hands it to
/// `process` in groups of at most `jobsMax`, which is how many callers' operations share one transaction.
///
/// The same shape as BankStore's `ConnectionThread` over `DedicatedThread` (thread + semaphore + stop flag),
/// copied because BankPostgres must not depend on BankStore; both should move to a small shared target.
final class PostgresThread<Job: Sendable>: Sendable {
    private let pending = Mutex<[Job]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    let jobsMax: Int

    /// Opens the connection on the new thread and starts draining jobs; throws what `open` throws.
    init(name: String, jobsMax: Int, open: @escaping @Sendable () throws(PostgresError) -> PostgresConnection,
         process: @escaping @Sendable (PostgresConnection, [Job]) -> Void) throws(PostgresError) {
        precondition(jobsMax > 0, "a group holds at least one job")
        self.jobsMax = jobsMax
        let opened = DispatchSemaphore(value: 0)
        let openError = Mutex<PostgresError?>(nil)
        let thread = Thread { [self] in
            defer { finished.signal() }
            let connection: PostgresConnection
            do throws(PostgresError) {
                connection = try open()
            } catch {
                openError.withLock { $0 = error }
                opened.signal()
                return
            }
            opened.signal()
            drain(connection, process)
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        opened.wait()
        if let error = openError.withLock({ $0 }) { throw error }
    }

    /// Runs until `stop`, then runs what is still queued and returns (closing the connection).
    private func drain(_ connection: PostgresConnection, _ process: (PostgresConnection, [Job]) -> Void) {
        while true {
            wakeUp.wait()
            let more = !stopping.load(ordering: .acquiring)
            while case let jobs = take(), !jobs.isEmpty {
                process(connection, jobs)
            }
            if !more { return }
        }
    }

    private func take() -> [Job] {
        pending.withLock { queue in
            let count = min(queue.count, jobsMax)
            defer { queue.removeFirst(count) }
            return Array(queue.prefix(count))
        }
    }

    /// Queues `job`; wakes the thread when the queue was empty.
    func submit(_ job: Job) {
        let wasEmpty = pending.withLock { queue in
            queue.append(job)
            return queue.count == 1
        }
        if wasEmpty { wakeUp.signal() }
    }

    /// Runs every job already queued, then ends the thread. Idempotent.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wakeUp.signal()
        finished.wait()
    }
}
