import BankStorage
import BankStore
import Dispatch
import Synchronization

/// Records the writer's fail-stops instead of stopping the test process (the writer halts either way).
final class FailStopRecorder: Sendable {
    private let reasons = Mutex<[String]>([])

    var stops: [String] { reasons.withLock { $0 } }

    var options: StorageOptions {
        StorageOptions(failStop: { [self] reason in reasons.withLock { $0.append(reason) } })
    }
}

/// What each job of a batch was told, by index; a job never completed has no entry.
final class BatchResults: Sendable {
    private let results = Mutex<[Int: Result<Void, any Error>]>([:])

    func record(_ index: Int, _ result: Result<Void, any Error>) { results.withLock { $0[index] = result } }

    subscript(index: Int) -> Result<Void, any Error>? { results.withLock { $0[index] } }

    func succeeded(_ index: Int) -> Bool {
        if case .success = self[index] { return true }
        return false
    }
}

typealias WriterJob = (isolation: DatabaseWriter.Isolation, body: @Sendable (any SQLDatabase) throws -> Void)

/// Submits `jobs` so that they share one batch (a gate job holds the writer while they queue), and returns
/// once the writer has dealt with that batch, whatever became of it.
func runAsOneBatch(_ writer: DatabaseWriter, _ jobs: [WriterJob]) async -> BatchResults {
    let entered = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    writer.submit(.savepoint, { _ in
        entered.signal()
        release.wait()
    }, completion: { _ in })
    await wait(for: entered)
    let results = BatchResults()
    for (index, job) in jobs.enumerated() {
        writer.submit(job.isolation, job.body, completion: { results.record(index, $0) })
    }
    release.signal()
    // Completions run in commit order, so this one's comes after the batch's (it fails if the writer halted).
    _ = try? await writer.write { _ in }
    return results
}

/// Waits for a semaphore without holding a thread of the cooperative pool.
func wait(for semaphore: DispatchSemaphore) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().async {
            semaphore.wait()
            continuation.resume()
        }
    }
}
