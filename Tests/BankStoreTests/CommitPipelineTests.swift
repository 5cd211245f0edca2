import BankCore
@testable import BankStorage
@testable import BankStore
import CSQLiteFaults
import Foundation
import Synchronization
import Testing

/// Holds the WAL syncer right before its fsync until opened (`StorageOptions.beforeWALSync`).
final class SyncGate: Sendable {
    /// Signalled each time the syncer reaches a held fsync.
    let reached = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let opened = Atomic<Bool>(false)
    private let onReach = Mutex<(@Sendable () -> Void)?>(nil)

    func pass() {
        guard !opened.load(ordering: .acquiring) else { return }
        onReach.withLock { $0 }?()
        reached.signal()
        gate.wait()
    }

    /// Runs `body` on the fsyncing thread each time a held fsync is reached (before `reached` is signalled).
    func whenReached(_ body: @escaping @Sendable () -> Void) { onReach.withLock { $0 = body } }

    /// Lets the held fsync and every later one go.
    func open() {
        guard !opened.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gate.signal()
    }
}

/// The calling thread's name for the OS (`DedicatedThread` sets it), as `/proc/self/task/*/comm` shows it.
func currentThreadName() -> String {
    ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Completions in the order they ran.
final class CompletionLog: Sendable {
    private let entries = Mutex<[Int]>([])
    func append(_ index: Int) { entries.withLock { $0.append(index) } }
    var values: [Int] { entries.withLock { $0 } }
}

/// Waits at most `seconds` for a semaphore without holding a thread of the cooperative pool.
func wait(for semaphore: DispatchSemaphore, seconds: Double) async -> Bool {
    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        DispatchQueue.global().async { continuation.resume(returning: semaphore.wait(timeout: .now() + seconds) == .success) }
    }
}

/// The pipelined group commit: the writer commits the next batch while the WAL syncer fsyncs, and no job is
/// answered before the fsync that covers its commit returned.
struct CommitPipelineTests {
    private func note(_ text: String, then signal: DispatchSemaphore? = nil) -> @Sendable (any SQLDatabase) throws -> Void {
        { db in
            try db.prepare("INSERT INTO notes VALUES (?)").run(text)
            signal?.signal()
        }
    }

    /// While the fsync of a commit is held, the writer commits the next batch, and neither batch's job is
    /// answered; once the fsync returns both are, in commit order.
    /// (Idle commits are handed over too here: answered on the writer's thread, the first commit would hold it.)
    @Test func noCompletionBeforeItsFsyncAndTheWriterGoesOnMeanwhile() async throws {
        let database = try TemporaryDatabase()
        let gate = SyncGate()
        let writer = try DatabaseWriter(path: database.path,
                                        options: StorageOptions(idleCommitsInline: false, beforeWALSync: gate.pass))
        defer { writer.close() }
        defer { gate.open() }
        let log = CompletionLog()
        writer.submit(.savepoint, { db in try db.execute("CREATE TABLE notes(text TEXT NOT NULL)") },
                      completion: { _ in log.append(1) })
        #expect(await wait(for: gate.reached, seconds: 10), "the first commit's fsync never started")
        let secondCommitted = DispatchSemaphore(value: 0)
        writer.submit(.savepoint, note("two", then: secondCommitted), completion: { _ in log.append(2) })
        #expect(await wait(for: secondCommitted, seconds: 10), "the writer waited for the fsync of the batch before")
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.values.isEmpty, "a job was answered before the fsync covering its commit returned")
        gate.open()
        _ = try await writer.write { _ in }
        #expect(log.values == [1, 2])
    }

    /// An fsync that fails while two commits wait for it fail-stops the writer once; neither commit is
    /// acknowledged, and both jobs are told that the outcome is unknown.
    @Test func failedGroupFsyncAcknowledgesNoneOfItsCommits() async throws {
        let database = try TemporaryDatabase()
        let recorder = FailStopRecorder()
        let gate = SyncGate()
        #expect(bankhub_faults_register() == 0)
        var options = recorder.options
        options.vfs = String(cString: bankhub_faults_vfs_name())
        options.idleCommitsInline = false
        options.beforeWALSync = gate.pass
        let prefix = database.directory.path
        defer { bankhub_faults_disarm(prefix) }
        let writer = try DatabaseWriter(path: database.path, options: options)
        defer { writer.close() }
        defer { gate.open() }
        let results = BatchResults()
        writer.submit(.savepoint, { db in try db.execute("CREATE TABLE notes(text TEXT NOT NULL)") },
                      completion: { results.record(0, $0) })
        #expect(await wait(for: gate.reached, seconds: 10))
        let secondCommitted = DispatchSemaphore(value: 0)
        writer.submit(.savepoint, note("two", then: secondCommitted), completion: { results.record(1, $0) })
        #expect(await wait(for: secondCommitted, seconds: 10))
        #expect(bankhub_faults_arm(prefix, Int32(BANKHUB_FAULT_SYNC), 1) == 0)
        gate.open()
        await #expect(throws: BankError.self) { try await writer.write { _ in } }
        #expect(bankhub_faults_fired(prefix) == 1)
        for index in 0..<2 {
            guard case .failure(let error as BankError) = results[index] else {
                Issue.record("job \(index) of a commit whose fsync failed was answered \(String(describing: results[index]))")
                continue
            }
            #expect(error.message.contains("unknown"))
        }
        #expect(recorder.stops.count == 1)
        #expect(writer.isHalted)
    }

    /// A commit with nothing queued behind it is fsynced and answered on the writer thread itself, with no
    /// hand-off to the syncer or the completion thread — and still only after its fsync returned.
    @Test func anIdleCommitIsAnsweredOnTheWriterThreadAfterItsFsync() async throws {
        let database = try TemporaryDatabase()
        let gate = SyncGate()
        let writer = try DatabaseWriter(path: database.path, options: StorageOptions(beforeWALSync: gate.pass))
        defer { writer.close() }
        defer { gate.open() }
        let answeredOn = Mutex<[String]>([])
        let syncedOn = Mutex<[String]>([])
        gate.whenReached { syncedOn.withLock { $0.append(currentThreadName()) } }
        writer.submit(.savepoint, { db in try db.execute("CREATE TABLE notes(text TEXT NOT NULL)") },
                      completion: { _ in answeredOn.withLock { $0.append(currentThreadName()) } })
        #expect(await wait(for: gate.reached, seconds: 10), "the commit's fsync never started")
        try await Task.sleep(for: .milliseconds(100))
        #expect(answeredOn.withLock { $0 }.isEmpty, "a job was answered before the fsync covering its commit returned")
        gate.open()
        _ = try await writer.write { _ in }
        #expect(syncedOn.withLock { $0 }.first == "bankhub-writer")
        #expect(answeredOn.withLock { $0 } == ["bankhub-writer"])
    }

    /// Completions run in submission order across many batches, with and without the pipeline and with idle
    /// commits answered in place or handed over, and each commit's sample carries its fsync duration when the
    /// pipeline runs it apart.
    @Test(arguments: [true, false], [true, false])
    func completionsKeepCommitOrderAcrossBatches(pipeline: Bool, idleInline: Bool) async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path,
                                        options: StorageOptions(commitPipeline: pipeline, idleCommitsInline: idleInline))
        defer { writer.close() }
        let samples = Mutex<[CommitSample]>([])
        writer.observeCommits { sample in samples.withLock { $0.append(sample) } }
        try await writer.write { db in try db.execute("CREATE TABLE notes(text TEXT NOT NULL)") }
        let log = CompletionLog()
        let jobs = 3_000
        for index in 0..<jobs {
            writer.submit(.savepoint, note("n\(index)"), completion: { _ in log.append(index) })
            // Pauses let the writer commit what is queued, so the jobs spread over many batches.
            if index % 300 == 299 { try await Task.sleep(for: .milliseconds(5)) }
        }
        _ = try await writer.write { _ in }
        #expect(log.values == Array(0..<jobs))
        #expect(writer.commits.count > 2, "the jobs should have needed several batches")
        let recorded = samples.withLock { $0 }
        #expect(recorded.allSatisfy { ($0.syncNanoseconds != nil) == pipeline })
    }

    /// On a new database the background checkpointer's PASSIVE checkpoints copy WAL pages back (it opened
    /// after the writer created the file), so between bursts of commits the WAL is fully copied, the writer
    /// restarts it from its start, and it stays far smaller than what was written. (Before, the checkpointer's
    /// connection never saw the WAL and the file grew by every commit until the writer's own checkpoint.)
    @Test func checkpointerKeepsTheWALBoundedOnANewDatabase() async throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        try await writer.write { db in try db.execute("CREATE TABLE filler(data BLOB NOT NULL)") }
        let bursts = 20
        let commitsPerBurst = 30
        let blobBytes = 4_096
        for _ in 0..<bursts {
            for _ in 0..<commitsPerBurst {
                try await writer.write { db in try db.prepare("INSERT INTO filler VALUES (zeroblob(?))").run(Int64(blobBytes)) }
            }
            // Longer than `WALCheckpointer.intervalMilliseconds`: a checkpoint can copy the whole burst.
            try await Task.sleep(for: .milliseconds(3 * WALCheckpointer.intervalMilliseconds))
        }
        #expect(writer.checkpointsEffectiveCount > 0, "the checkpointer's checkpoints found nothing to copy")
        let written = bursts * commitsPerBurst * blobBytes
        let walBytes = try FileManager.default.attributesOfItem(atPath: database.path + "-wal")[.size] as? Int ?? 0
        #expect(walBytes < written / 2, "the WAL grew to \(walBytes) bytes for \(written) written: no restarts")
    }

    /// The writer's threads carry their names for the OS, so `top -H` and `perf` show which is busy.
    @Test func threadsAreNamedForTheOS() throws {
        let database = try TemporaryDatabase()
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let names = Set(tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(names.isSuperset(of: ["bankhub-writer", "bankhub-syncer", "bankhub-checkpo"]))
    }
}
