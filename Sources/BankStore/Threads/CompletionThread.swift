import Dispatch
import Foundation
import Synchronization

/// Runs the completions of committed batches, in commit order, on a thread of its own, so the writer can
/// start the next commit while this one's replies are built and its events fanned out.
///
/// Completions only ever run after the COMMIT that made their job durable returned: the writer hands a
/// batch over after COMMIT. A single thread keeps batches in order, so events are published in seq order.
final class CompletionThread: Sendable {
    typealias Batch = [@Sendable () -> Void]

    /// Batches handed over but not yet run; bounded by the writer, which waits when it is this far ahead.
    static let batchesQueuedMax = 4

    private let pending = Mutex<[Batch]>([])
    private let wakeUp = DispatchSemaphore(value: 0)
    private let room = DispatchSemaphore(value: batchesQueuedMax)
    private let stopped = OnceFlag()
    private let finished = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues one batch's completions (the writer thread); waits while `batchesQueuedMax` are queued.
    func submit(_ batch: Batch) {
        room.wait()
        pending.withLock { $0.append(batch) }
        wakeUp.signal()
    }

    private func run() {
        while true {
            wakeUp.wait()
            let batch = pending.withLock { queue in queue.isEmpty ? nil : queue.removeFirst() }
            guard let batch else {
                if stopped.isClaimed { return }
                continue
            }
            for completion in batch { completion() }
            room.signal()
        }
    }

    /// Runs every batch already queued, then ends the thread. Call once, after the writer stopped.
    func stop() {
        guard stopped.claim() else { return }
        wakeUp.signal()
        finished.wait()
    }
}
