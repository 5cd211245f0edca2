import BankCore
import BankStorage
import BankStore
import Dispatch
import Foundation
import Synchronization
import Testing

/// No read can hold a reader for long, and sign-in reads never wait behind other reads.
struct ReaderBoundsTests {
    /// A database with `rows` rows in table `numbers`.
    private func numbers(_ database: TemporaryDatabase, rows: Int) async throws {
        let writer = try DatabaseWriter(path: database.path)
        defer { writer.close() }
        try await writer.write { db in
            try db.execute("CREATE TABLE numbers(n INTEGER NOT NULL)")
            try db.execute("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < \(rows)) "
                           + "INSERT INTO numbers SELECT n FROM c")
        }
    }

    /// A read that needs more SQLite steps than its budget fails with `unavailable` (and says to narrow it);
    /// cheap reads on the same reader keep working.
    @Test func readPastItsStepBudgetIsRefused() async throws {
        let database = try TemporaryDatabase()
        try await numbers(database, rows: 50_000)
        let readers = try DatabaseReaders(path: database.path, count: 1, readStepsMax: 100_000)
        defer { readers.close() }

        let error = await #expect(throws: BankError.self) {
            try await readers.read { db in try db.prepare("SELECT SUM(n) FROM numbers WHERE n % 7 = 3").queryOne { $0.int64(0) } }
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("narrow it") == true)
        let cheap = try await readers.read { db in try db.prepare("SELECT n FROM numbers WHERE rowid = 42").queryOne { $0.int64(0) } }
        #expect(cheap == 42)
    }

    /// The same heavy read is answered when the budget allows it.
    @Test func readWithinItsStepBudgetIsAnswered() async throws {
        let database = try TemporaryDatabase()
        try await numbers(database, rows: 50_000)
        let readers = try DatabaseReaders(path: database.path, count: 1)
        defer { readers.close() }
        let count = try await readers.read { db in
            try db.prepare("SELECT COUNT(*) FROM numbers WHERE n % 7 = 3").queryOne { $0.int64(0) }
        }
        #expect(count == 7_143)
    }

    /// With every general reader busy, a read on the sign-in lane is still answered.
    @Test func signInReadsDoNotQueueBehindGeneralReads() async throws {
        let database = try TemporaryDatabase()
        try await numbers(database, rows: 10)
        let readers = try DatabaseReaders(path: database.path, count: 2)
        defer { readers.close() }
        let release = DispatchSemaphore(value: 0)
        let blocked = DispatchSemaphore(value: 0)
        var held: [Task<Void, any Error>] = []
        for _ in 0..<2 {
            held.append(Task { try await readers.read { _ in blocked.signal(); release.wait() } })
        }
        for _ in 0..<2 { await wait(for: blocked) }

        let answered = Atomic<Bool>(false)
        let signIn = Task {
            let count = try await ReadLane.$current.withValue(.signIn) {
                try await readers.read { db in try db.prepare("SELECT COUNT(*) FROM numbers").queryOne { $0.int64(0) } }
            }
            answered.store(true, ordering: .releasing)
            return count
        }
        // Generous: the read needs microseconds; without its own lane it would wait for the release below.
        for _ in 0..<1_000 where !answered.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        let answeredFirst = answered.load(ordering: .acquiring)
        #expect(answeredFirst, "the sign-in read waited behind the general readers")
        release.signal()
        release.signal()
        #expect(try await signIn.value == 10)
        for task in held { try await task.value }
    }
}
