import DedicatedThreads
import Dispatch

/// Runs the completions of committed batches, in commit order, on a thread of its own, so the writer can
/// start the next commit while this one's replies are built and its events fanned out.
///
/// Completions only ever run after the COMMIT that made their job durable returned: the writer hands a
/// batch over after COMMIT. A single thread keeps batches in order, so events are published in seq order.
final class CompletionThread: Sendable {
    typealias Batch = [@Sendable () -> Void]

    /// Batches handed over but not yet run; bounded by the writer, which waits when it is this far ahead.
    static let batchesQueuedMax = 4

    private let pending = LockedQueue<Batch>()
    private let room = DispatchSemaphore(value: batchesQueuedMax)
    private let thread: DedicatedThread

    init(name: String) {
        let pending = self.pending
        let room = self.room
        thread = DedicatedThread(name: name) { control in
            while true {
                let more = control.waitForWork()
                while let batch = pending.popFirst() {
                    for completion in batch { completion() }
                    room.signal()
                }
                if !more { return }
            }
        }
    }

    /// Queues one batch's completions (the writer thread); waits while `batchesQueuedMax` are queued.
    func submit(_ batch: Batch) {
        room.wait()
        pending.append(batch)
        thread.wake()
    }

    /// Runs every batch already queued, then ends the thread. Call once, after the writer stopped.
    func stop() {
        thread.stop()
    }
}
