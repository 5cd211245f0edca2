import Dispatch
import Foundation
import Synchronization

/// A dedicated thread that owns one SQLite connection and runs jobs on it, so blocking SQLite calls never
/// occupy Swift's small cooperative thread pool (two threads on this machine).
///
/// Jobs queue behind a mutex; the thread drains everything queued at once and hands the whole batch to
/// `process`, which is how the writer groups many operations into one commit.
final class ConnectionThread<Job: Sendable>: Sendable {
    private let pending = Mutex<[Job]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    private let stopped = OnceFlag()
    private let finished = DispatchSemaphore(value: 0)
    let batchJobsMax: Int

    /// Opens the connection on the new thread and starts draining jobs. Throws if `open` throws.
    init(name: String, batchJobsMax: Int,
         open: @escaping @Sendable () throws -> SQLiteConnection,
         process: @escaping @Sendable (SQLiteConnection, [Job]) -> Void) throws {
        self.batchJobsMax = batchJobsMax
        let opened = DispatchSemaphore(value: 0)
        let openError = Mutex<(any Error)?>(nil)
        let thread = Thread { [self] in
            let connection: SQLiteConnection
            do {
                connection = try open()
            } catch {
                openError.withLock { $0 = error }
                opened.signal()
                finished.signal()
                return
            }
            opened.signal()
            drain(connection, process)
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        opened.wait()
        if let error = openError.withLock({ $0 }) { throw error }
    }

    private func drain(_ connection: SQLiteConnection, _ process: (SQLiteConnection, [Job]) -> Void) {
        while true {
            wakeUp.wait()
            let jobs = pending.withLock { queue -> [Job] in
                let count = min(queue.count, batchJobsMax)
                let taken = Array(queue.prefix(count))
                queue.removeFirst(count)
                if !queue.isEmpty { wakeUp.signal() }
                return taken
            }
            if !jobs.isEmpty { process(connection, jobs) }
            if jobs.isEmpty, stopped.isClaimed { return }
        }
    }

    func submit(_ job: Job) {
        let wasEmpty = pending.withLock { queue in
            queue.append(job)
            return queue.count == 1
        }
        if wasEmpty { wakeUp.signal() }
    }

    /// Jobs waiting to run (for health and back-pressure).
    var queuedCount: Int { pending.withLock { $0.count } }

    /// Runs every job already queued, then ends the thread and closes the connection. Idempotent.
    func stop() {
        guard stopped.claim() else { return }
        wakeUp.signal()
        finished.wait()
    }
}
