import BankCore
import BankStorage
import BankStore
import CSQLiteFaults
import Foundation
import Testing

/// A batch of writer jobs commits whole or leaves nothing: when SQLite itself rolls the transaction back (disk
/// full, I/O error) or the COMMIT fails, every job of the batch is told `unavailable` and none of it is on
/// disk; the writer goes on with the next batch, except after a failed ledger batch or fsync (fail-stop).
struct BatchFailureTests {
    /// A database with a `notes` table holding "seed", and a writer on it.
    private func notesDatabase(_ database: TemporaryDatabase, options: StorageOptions) async throws -> DatabaseWriter {
        let writer = try DatabaseWriter(path: database.path, options: options)
        try await writer.write { db in
            try db.execute("CREATE TABLE notes(text TEXT NOT NULL); CREATE TABLE filler(data BLOB NOT NULL)")
            try db.execute("INSERT INTO notes VALUES ('seed')")
        }
        return writer
    }

    /// `notesDatabase` opened through the fault-injecting VFS, with fail-stops going to `recorder`; returns the
    /// writer and the path prefix to arm faults on.
    private func faultyNotesDatabase(_ database: TemporaryDatabase,
                                     _ recorder: FailStopRecorder) async throws -> (DatabaseWriter, String) {
        #expect(bankhub_faults_register() == 0)
        var options = recorder.options
        options.vfs = String(cString: bankhub_faults_vfs_name())
        return (try await notesDatabase(database, options: options), database.directory.path)
    }

    /// The notes on disk, read through a connection of their own.
    private func notes(_ database: TemporaryDatabase) throws -> [String] {
        let connection = try SQLiteConnection(path: database.path, mode: .readOnly)
        return try connection.prepare("SELECT text FROM notes ORDER BY rowid").query { $0.string(0) }
    }

    private func note(_ text: String) -> @Sendable (any SQLDatabase) throws -> Void {
        { db in try db.prepare("INSERT INTO notes VALUES (?)").run(text) }
    }

    /// Fills the disk: inserts 8 KiB rows until SQLite refuses (max_page_count).
    private let fill: @Sendable (any SQLDatabase) throws -> Void = { db in
        for _ in 0..<10_000 { try db.prepare("INSERT INTO filler VALUES (zeroblob(8192))").run() }
    }

    /// Caps the database at its current size: the next page it needs is SQLITE_FULL.
    private func capAtCurrentSize(_ writer: DatabaseWriter) async throws {
        try await writer.write { db in try db.execute("PRAGMA max_page_count = 1") }
    }

    private func isUnavailable(_ result: Result<Void, any Error>?) -> Bool {
        guard case .failure(let error) = result else { return false }
        return (error as? BankError)?.code == .unavailable
    }

    /// A full disk in the middle of a batch fails every job of it, the ones before and after the one that hit
    /// it included, commits none of them (no job after it runs in autocommit), and the writer goes on.
    @Test func fullDiskFailsTheWholeBatchAndTheWriterGoesOn() async throws {
        let database = try TemporaryDatabase()
        let recorder = FailStopRecorder()
        let writer = try await notesDatabase(database, options: recorder.options)
        defer { writer.close() }
        try await capAtCurrentSize(writer)

        let results = await runAsOneBatch(writer, [(.savepoint, note("before")), (.savepoint, fill),
                                                   (.savepoint, note("after"))])
        for index in 0..<3 { #expect(isUnavailable(results[index]), "job \(index): \(String(describing: results[index]))") }
        #expect(try notes(database) == ["seed"], "a job of the failed batch reached the disk")
        #expect(writer.failures.count == 1)
        #expect(writer.failures.last?.contains("full") == true)

        try await writer.write { db in try db.execute("PRAGMA max_page_count = 1073741823") }
        try await writer.write(note("later"))
        #expect(try notes(database) == ["seed", "later"])
        #expect(recorder.stops.isEmpty && !writer.isHalted)
    }

    /// A ledger job in a batch that cannot commit stops the writer (fail-stop): nothing of the batch reaches
    /// the disk, the ledger job is never acknowledged, and later writes are refused.
    @Test func ledgerBatchThatCannotCommitStopsTheWriter() async throws {
        let database = try TemporaryDatabase()
        let recorder = FailStopRecorder()
        let writer = try await notesDatabase(database, options: recorder.options)
        defer { writer.close() }
        try await capAtCurrentSize(writer)

        let results = await runAsOneBatch(writer, [(.savepoint, fill), (.ledger, note("ledger"))])
        #expect(isUnavailable(results[0]))
        #expect(results[1] == nil, "a ledger job of a failed batch must never be acknowledged")
        #expect(recorder.stops.count == 1)
        #expect(writer.isHalted)
        #expect(try notes(database) == ["seed"], "the ledger job ran outside the rolled-back transaction")
        await #expect(throws: BankError(.unavailable, "the database writer has stopped; the operation did not happen")) {
            try await writer.write(note("refused"))
        }
    }

    /// A COMMIT that fails (the WAL write fails) fails the batch's jobs with `unavailable`, leaves nothing on
    /// disk, and the writer goes on.
    @Test func failedCommitFailsTheBatchAndTheWriterGoesOn() async throws {
        let database = try TemporaryDatabase()
        let recorder = FailStopRecorder()
        let (writer, prefix) = try await faultyNotesDatabase(database, recorder)
        defer { writer.close() }
        defer { bankhub_faults_disarm(prefix) }

        #expect(bankhub_faults_arm(prefix, Int32(BANKHUB_FAULT_WRITE), 1) == 0)
        let results = await runAsOneBatch(writer, [(.savepoint, note("one")), (.savepoint, note("two"))])
        #expect(bankhub_faults_fired(prefix) == 1)
        #expect(isUnavailable(results[0]) && isUnavailable(results[1]))
        #expect(try notes(database) == ["seed"])

        try await writer.write(note("later"))
        #expect(try notes(database) == ["seed", "later"])
        #expect(recorder.stops.isEmpty && !writer.isHalted)
    }

    /// A failed fsync at COMMIT stops the writer even without ledger jobs: after it, what reached the disk is
    /// unknown, so committing more on top would be guessing, and the batch's jobs are not told "it did not
    /// happen" (that could be a lie, since the next start may find the commit in the WAL).
    @Test func failedFsyncStopsTheWriter() async throws {
        let database = try TemporaryDatabase()
        let recorder = FailStopRecorder()
        let (writer, prefix) = try await faultyNotesDatabase(database, recorder)
        defer { writer.close() }
        defer { bankhub_faults_disarm(prefix) }

        #expect(bankhub_faults_arm(prefix, Int32(BANKHUB_FAULT_SYNC), 1) == 0)
        // One job on its own, not `runAsOneBatch`: that helper's blocking job commits first, and with the
        // pipelined commit its fsync may run alone and take the fault (then this job is refused instead).
        let result: Result<Void, any Error>
        do { try await writer.write(note("one")); result = .success(()) } catch { result = .failure(error) }
        #expect(bankhub_faults_fired(prefix) == 1)
        // In the product the process has stopped before any answer; past the seam the answer says "unknown".
        guard case .failure(let error as BankError) = result else {
            Issue.record("a job whose commit's fsync failed was answered \(String(describing: result))")
            return
        }
        #expect(error.message.contains("unknown"))
        #expect(recorder.stops.count == 1)
        #expect(recorder.stops.first?.contains("unknown") == true)
        #expect(writer.isHalted)
    }
}
