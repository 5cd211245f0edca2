import CSQLite
import DedicatedThreads
import Dispatch
import Foundation

/// The second stage of the pipelined group commit: fsyncs the writer's WAL after COMMITs that appended their
/// frames without syncing (`synchronous=NORMAL`), and only then hands each batch's completions, in commit
/// order, to the completion thread. The writer starts its next batch as soon as it has handed a commit over.
///
/// One fsync covers every commit appended before it (group fsync): the syncer takes all the commits queued
/// when it wakes, syncs once, and releases them all. At most `commitsUnsyncedMax` commits are handed over and
/// not yet released; the writer waits (`waitForRoom`) before it takes its next batch.
///
/// A commit that finds the syncer idle and no job queued behind it need not wait for this thread: the writer
/// runs the same sync and release itself (`syncHereIfIdle`), which saves two thread wake-ups per commit at low
/// rates; the order is unchanged, since nothing else is waiting to be released.
///
/// Why no unsynced commit can be overwritten or lost by a checkpoint: a checkpoint (the writer's automatic
/// one, or `WALCheckpointer`'s PASSIVE one, both at synchronous >= NORMAL) fsyncs the WAL before it copies
/// frames into the database file, fsyncs the database file after, and only then records the frames as
/// backfilled; SQLite restarts the WAL from its start (overwriting old frames, with new salts) only when every
/// frame is backfilled. So a frame is overwritten only after it is durable in the database file, and an
/// unsynced commit overwritten this way was synced by that checkpoint. A commit still in the WAL when the
/// power fails is either whole (its frames and commit frame passed the checksums) or ignored at recovery, and
/// it was never acknowledged. (Commits skip SQLite's padding of the last frame to a sector, so the writer uses
/// the pipeline only when the WAL's device reports `SQLITE_IOCAP_POWERSAFE_OVERWRITE`, the unix VFS default.)
final class WALSyncer: Sendable {
    /// Commits handed over and not yet released, past which the writer waits before its next batch: one commit
    /// fsyncing and one waiting for the next fsync, while the batch after them grows (a deeper pipeline made
    /// more, smaller commits and cost hub CPU per transfer; see docs/performance.md).
    static let commitsUnsyncedMax = 2

    /// One commit (or failed batch) waiting for the sync.
    struct Entry: Sendable {
        /// False for a batch that wrote nothing (it failed): its answers only keep their place in the order.
        let needsSync: Bool
        /// What the batch's jobs are told once the fsync covering it returned.
        let completions: CompletionThread.Batch
        /// What they are told instead when that fsync failed (only after `failStop` returned: the tests' seam).
        let completionsIfUnknown: CompletionThread.Batch
        /// Called after the fsync with its duration, before the completions are released (statistics).
        let synced: @Sendable (_ syncNanoseconds: UInt64) -> Void
    }

    private let pending = LockedQueue<Entry>()
    private let window = SyncWindow(entriesMax: WALSyncer.commitsUnsyncedMax)
    private let thread: DedicatedThread
    private let release: Release

    /// `sync` fsyncs the WAL (the writer's own file handle, see `DatabaseWriter`) and returns an SQLite result
    /// code; `gate` (tests only) runs right before each fsync; `fail` gets the reason when an fsync failed.
    /// `writerIsIdle` (nil: never; `StorageOptions.idleCommitsInline`): when it says no job waits for the
    /// writer, no later commit waits for this thread and the batches are small (`CommitDelivery.idleBatchJobsMax`),
    /// this thread runs the completions itself if the completion thread has nothing unfinished. Under load it
    /// hands them over, so the next fsync does not wait behind a large batch's fan-out.
    init(completions: CompletionThread, writerIsIdle: (@Sendable () -> Bool)?, gate: (@Sendable () -> Void)?,
         sync: @escaping @Sendable () -> Int32, fail: @escaping @Sendable (String) -> Void) {
        let pending = self.pending
        let window = self.window
        let release = Release(completions: completions, gate: gate, sync: sync, failed: OnceFlag(), fail: fail)
        self.release = release
        thread = DedicatedThread(name: "bankhub-syncer") { control in
            while true {
                let more = control.waitForWork()
                while case let entries = pending.take(max: Self.commitsUnsyncedMax), !entries.isEmpty {
                    // Completions run here only when no later commit waits for this thread's next fsync.
                    let idle = pending.count == 0 && writerIsIdle?() == true
                        && entries.allSatisfy { $0.completions.count <= CommitDelivery.idleBatchJobsMax }
                    release.run(entries, completionsHereIfIdle: idle)
                    window.release(entries.count)
                }
                if !more { return }
            }
        }
    }

    /// Syncs `entry` and releases its completions on the calling thread (the writer, right after its COMMIT),
    /// when no commit is handed over and unreleased; false, doing nothing, when one is (hand it over with
    /// `submit` then). Only the writer hands commits over, so while it runs this nothing else can be: the
    /// window stays taken until the completions are released.
    func syncHereIfIdle(_ entry: Entry) -> Bool {
        guard window.addIfEmpty() else { return false }
        release.run([entry], completionsHereIfIdle: true)
        window.release(1)
        return true
    }

    /// Waits until fewer than `commitsUnsyncedMax` commits are unreleased (the writer, before its next batch).
    func waitForRoom() { window.waitForRoom() }

    /// Hands over one batch, in commit order (the writer thread, after `waitForRoom`).
    func submit(_ entry: Entry) {
        window.add()
        pending.append(entry)
        thread.wake()
    }

    /// Waits until every entry handed over is released (the writer, before it closes its connection).
    func drain() { window.waitForEmpty() }

    /// True once an fsync failed.
    var hasFailed: Bool { release.failed.isClaimed }

    /// Releases what is queued, then ends the thread. Call after the writer stopped.
    func stop() { thread.stop() }
}

/// What releasing synced commits takes: the fsync, and where the completions go. Runs on the syncer thread, or
/// on the writer's for an idle commit (`WALSyncer.syncHereIfIdle`), never on both at once.
private struct Release: Sendable {
    let completions: CompletionThread
    /// Tests only: runs right before each fsync.
    let gate: (@Sendable () -> Void)?
    let sync: @Sendable () -> Int32
    /// Claimed once an fsync failed; nothing synced after is acknowledged.
    let failed: OnceFlag
    let fail: @Sendable (String) -> Void

    /// Syncs once for `entries` (unless none wrote anything) and releases their completions in order: run here
    /// when `completionsHereIfIdle` and the completion thread has nothing unfinished, else queued to it.
    func run(_ entries: [WALSyncer.Entry], completionsHereIfIdle: Bool) {
        var syncNanoseconds: UInt64 = 0
        if !failed.isClaimed, entries.contains(where: \.needsSync) {
            gate?()
            let started = DispatchTime.now().uptimeNanoseconds
            let rc = sync()
            syncNanoseconds = DispatchTime.now().uptimeNanoseconds - started
            if rc != SQLITE_OK {
                // A failed fsync may have dropped pages the kernel could not write, and a retried fsync would
                // report success: what reached the disk is unknown. Nothing covered is ever acknowledged.
                _ = failed.claim()
                fail("the WAL fsync failed (SQLite error \(rc)); what reached the disk is unknown")
            }
        }
        for entry in entries {
            let batch: CompletionThread.Batch
            if entry.needsSync && failed.isClaimed {
                batch = entry.completionsIfUnknown
            } else {
                if entry.needsSync { entry.synced(syncNanoseconds) }
                batch = entry.completions
            }
            if completionsHereIfIdle {
                completions.runHereIfIdle(batch)
            } else {
                completions.submit(batch)
            }
        }
    }
}

/// Counts the entries handed to the syncer and not yet released, so the writer can wait for room or for none.
private final class SyncWindow: Sendable {
    private let entriesMax: Int
    /// Guards `count`; signalled whenever entries are released.
    private let condition = NSCondition()
    // Only read and written with `condition` locked.
    nonisolated(unsafe) private var count = 0

    init(entriesMax: Int) {
        precondition(entriesMax >= 1, "at least one commit may wait for its fsync")
        self.entriesMax = entriesMax
    }

    /// Takes one place when none is taken; false when an entry is unreleased.
    func addIfEmpty() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard count == 0 else { return false }
        count = 1
        return true
    }

    func add() {
        condition.lock()
        defer { condition.unlock() }
        count += 1
        precondition(count <= entriesMax, "the writer waits for room before handing a commit over")
    }

    func release(_ released: Int) {
        condition.lock()
        defer { condition.unlock() }
        precondition(released <= count, "only entries handed over are released")
        count -= released
        condition.broadcast()
    }

    func waitForRoom() { waitUntil { $0 < entriesMax } }
    func waitForEmpty() { waitUntil { $0 == 0 } }

    private func waitUntil(_ done: (Int) -> Bool) {
        condition.lock()
        defer { condition.unlock() }
        while !done(count) { condition.wait() }
    }
}
