import DedicatedThreads
import Dispatch
import Synchronization

/// Runs the completions of committed batches, in commit order, on a thread of its own, so the writer can
/// start the next commit while this one's replies are built and its events fanned out.
///
/// Completions only ever run after the COMMIT that made their job durable returned: the writer hands a
/// batch over after COMMIT. A single thread keeps batches in order, so events are published in seq order.
/// When nothing handed over is still queued or running, the one thread handing batches over may run a batch
/// itself (`runHereIfIdle`): the order is the same, and an idle hub saves a thread wake-up per commit.
final class CompletionThread: Sendable {
    typealias Batch = [@Sendable () -> Void]

    /// Batches handed over but not yet run; bounded by the writer, which waits when it is this far ahead.
    static let batchesQueuedMax = 4

    private let pending = LockedQueue<Batch>()
    private let room = DispatchSemaphore(value: batchesQueuedMax)
    /// Batches handed over and not yet finished (queued, or running on the thread).
    private let unfinished = UnfinishedBatches()
    /// Set while a batch is being handed over or run by its caller: two callers at once would break the order
    /// `runHereIfIdle` relies on (see there), so a second one is a programming error.
    private let handingOver = Atomic<Bool>(false)
    private let thread: DedicatedThread

    init(name: String) {
        let pending = self.pending
        let room = self.room
        let unfinished = self.unfinished
        thread = DedicatedThread(name: name) { control in
            while true {
                let more = control.waitForWork()
                while let batch = pending.popFirst() {
                    for completion in batch { completion() }
                    unfinished.count.subtract(1, ordering: .releasing)
                    room.signal()
                }
                if !more { return }
            }
        }
    }

    /// Queues one batch's completions (the writer thread); waits while `batchesQueuedMax` are queued.
    func submit(_ batch: Batch) {
        handOver { queue(batch) }
    }

    /// Runs `batch` on the calling thread when every batch handed over before has finished, else queues it
    /// like `submit`. Batches are handed over by one thread at a time (the syncer, or the writer when it
    /// answers an idle commit itself, never both at once: see `WALSyncer.syncHereIfIdle`), so nothing can be
    /// queued between the check and the run, and batches still finish in the order they were handed over.
    func runHereIfIdle(_ batch: Batch) {
        handOver {
            if unfinished.count.load(ordering: .acquiring) == 0 {
                for completion in batch { completion() }
            } else {
                queue(batch)
            }
        }
    }

    /// Runs every batch already queued, then ends the thread. Call once, after the writer stopped.
    func stop() {
        thread.stop()
    }

    private func queue(_ batch: Batch) {
        room.wait()
        unfinished.count.add(1, ordering: .releasing)
        pending.append(batch)
        thread.wake()
    }

    private func handOver(_ body: () -> Void) {
        let (claimed, _) = handingOver.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        precondition(claimed, "batches are handed over by one thread at a time, or their order is lost")
        body()
        handingOver.store(false, ordering: .releasing)
    }
}

/// The count of `CompletionThread`'s unfinished batches, in a class so the thread's body can hold it before the
/// owner's initialiser finishes (an `Atomic` cannot be copied into a closure).
private final class UnfinishedBatches: Sendable {
    let count = Atomic<Int>(0)
}
