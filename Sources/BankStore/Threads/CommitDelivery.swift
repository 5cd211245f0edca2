import BankCore
import BankStorage
import DedicatedThreads
import Dispatch

/// Where a batch's answers go once `BatchCommit.run` returned: without the pipeline, straight to the completion
/// thread (COMMIT fsynced before it returned); with it, through the `WALSyncer`, which releases them in commit
/// order after the fsync that covers them. Failed batches go the same way, so answers never overtake each
/// other. Called on the writer thread, exactly once per batch (the syncer's window counts on that).
///
/// A small commit (at most `idleBatchJobsMax` jobs) with no job queued behind it (`queued` empty;
/// `StorageOptions.idleCommitsInline`) is synced and answered on the writer thread when the syncer and the
/// completion thread have nothing unfinished: at low rates that is most commits, and it saves two thread
/// wake-ups each. Under load the hand-offs run as before: a large batch means requests are waiting for its
/// answers and more will follow them, and the writer must be free to commit those while this one fsyncs
/// (measured: inline large batches cost 3 % of throughput at 16 connections × 8 in flight).
struct CommitDelivery: Sendable {
    /// The largest batch a thread of the pipeline answers itself instead of handing it on.
    static let idleBatchJobsMax = 4

    let completions: CompletionThread
    let syncer: WALSyncer?
    /// The writer's queue of jobs not yet taken into a batch.
    let queued: LockedQueue<DatabaseWriter.Job>
    let idleCommitsInline: Bool
    let statistics: WriterStatistics
    let checkpointer: WALCheckpointer
    let halted: OnceFlag
    let failStop: StorageOptions.FailStop

    func deliver(_ outcome: BatchCommit.Outcome, of jobs: [DatabaseWriter.Job], startedNanoseconds: UInt64) {
        switch outcome {
        case .committed(let outcomes):
            let durationNanoseconds = DispatchTime.now().uptimeNanoseconds - startedNanoseconds
            let answers: CompletionThread.Batch = zip(jobs, outcomes).map { job, outcome in { job.completion(outcome) } }
            checkpointer.request()
            let idle = idleCommitsInline && jobs.count <= Self.idleBatchJobsMax && queued.count == 0
            guard let syncer else {
                statistics.record(batchSize: jobs.count, durationNanoseconds: durationNanoseconds)
                if idle { completions.runHereIfIdle(answers) } else { completions.submit(answers) }
                return
            }
            let unknown = BankError(.unavailable, "storage failed (the WAL fsync failed); whether the operation "
                                    + "happened is unknown", outcomeUnknown: true)
            let statistics = self.statistics
            let entry = WALSyncer.Entry(
                needsSync: true, completions: answers, completionsIfUnknown: Self.general(jobs, failing: unknown),
                synced: { syncNanoseconds in
                    statistics.record(batchSize: jobs.count, durationNanoseconds: durationNanoseconds,
                                      syncNanoseconds: syncNanoseconds)
                })
            if !(idle && syncer.syncHereIfIdle(entry)) { syncer.submit(entry) }
        case .failed(let error, let cause):
            // Nothing of the batch is on disk; the next batch starts afresh (the error may be transient).
            statistics.recordFailure(cause)
            answer(jobs.map { job in { job.completion(.failure(error)) } })
        case .mustStop(let reason, let error, let outcomeKnown):
            statistics.recordFailure(reason)
            _ = halted.claim()
            if outcomeKnown { answer(Self.general(jobs, failing: error)) }
            failStop(reason)
            // Reached only when `failStop` returned (the tests' seam; the product has stopped by now): the
            // process goes on, so in-process waiters of the general jobs must not wait for ever. Their answer
            // says that the outcome is unknown.
            if !outcomeKnown { answer(Self.general(jobs, failing: error)) }
        }
    }

    /// A halted writer's answer to every later job: general jobs fail; ledger jobs are never completed (their
    /// change is in memory only, and the process is meant to stop).
    func refuse(_ jobs: [DatabaseWriter.Job]) {
        let error = BankError(.unavailable, "the database writer has stopped; the operation did not happen")
        answer(Self.general(jobs, failing: error))
    }

    /// Answers that need no fsync, queued behind the commits still waiting for theirs.
    private func answer(_ batch: CompletionThread.Batch) {
        guard let syncer else {
            completions.submit(batch)
            return
        }
        syncer.submit(WALSyncer.Entry(needsSync: false, completions: batch, completionsIfUnknown: batch,
                                      synced: { _ in }))
    }

    /// The general (`.savepoint`) jobs' failures; ledger jobs get no answer when their batch is lost.
    private static func general(_ jobs: [DatabaseWriter.Job], failing error: BankError) -> CompletionThread.Batch {
        jobs.filter { $0.isolation == .savepoint }.map { job in { job.completion(.failure(error)) } }
    }
}
