import BankCore
import BankPostgres
import BankStorage
import PostgresTestPeer
import Synchronization
import Testing

/// The hub's PostgreSQL writer and readers against a real throwaway server: group commit, savepoints,
/// fail-stop, one hub per database, a lost connection, bounded reads.
struct PostgresWriterTests {
    /// A server and a writer on it whose fail-stop hook records the reason instead of stopping the process.
    final class Bench: Sendable {
        let peer: PostgresPeer
        let writer: PostgresWriter
        let stopped = Box<String?>(nil)

        init() throws {
            peer = try PostgresPeer.start()
            let stopped = self.stopped
            do {
                writer = try Self.writer(peer, failStop: { reason in stopped.set(reason) })
            } catch {
                peer.stop()
                throw error
            }
        }

        static func writer(_ peer: PostgresPeer, lock: PostgresHubLock.Mode = .alone,
                           failStop: @escaping @Sendable (String) -> Void = { _ in }) throws -> PostgresWriter {
            let conninfo = peer.conninfo
            return try PostgresWriter(open: { try PostgresHubDatabase.connect(conninfo) }, lock: lock, prepare: { db in
                try db.execute("CREATE TABLE IF NOT EXISTS notes(id bigint PRIMARY KEY, text text NOT NULL)")
            }, failStop: failStop)
        }

        func readers(timeoutMilliseconds: Int = 1_000) throws -> PostgresReaders {
            let conninfo = peer.conninfo
            return try PostgresReaders(open: { try PostgresHubDatabase.connect(conninfo) },
                                       options: PostgresStorageOptions(readStatementMillisecondsMax: timeoutMilliseconds))
        }

        func stop() {
            writer.close()
            peer.stop()
        }
    }

    static func insert(_ id: Int64, _ text: String) -> @Sendable (any SQLDatabase) throws -> Void {
        { db in try db.prepare("INSERT INTO notes(id, text) VALUES (?, ?)").run(id, text) }
    }

    static func submit(_ writer: PostgresWriter, _ isolation: WriteIsolation,
                       _ body: @escaping @Sendable (any SQLDatabase) throws -> Void) async -> Result<Void, any Error> {
        await withCheckedContinuation { continuation in
            writer.submit(isolation, body, completion: { continuation.resume(returning: $0) })
        }
    }

    /// Jobs queued together share one commit; a failing savepoint job (a duplicate key) fails alone and the
    /// others' rows are there for a reader.
    @Test func savepointJobFailsAloneInsideAGroupCommit() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers()
        defer { readers.close() }
        let results = await withTaskGroup(of: Bool.self) { group in
            for id in [1, 2, 2, 3] as [Int64] {
                group.addTask { (try? await Self.submit(bench.writer, .savepoint, Self.insert(id, "n\(id)")).get()) != nil }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 3 && results.filter { !$0 }.count == 1)
        let count = try await readers.read { db in try db.prepare("SELECT count(*) FROM notes").queryOne { $0.int64(0) } }
        #expect(count == 3)
        #expect(bench.writer.commits.jobs == 4)
        #expect(!bench.writer.isHalted)
    }

    /// A savepoint job whose body swallows a failed statement leaves the transaction aborted, which the server
    /// would "commit" as a silent ROLLBACK: the job is answered `unavailable` (not success), nothing of it is
    /// stored, and the next job commits.
    @Test func savepointJobThatSwallowsAnErrorIsNotReportedCommitted() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers()
        defer { readers.close() }
        let swallowed = await Self.submit(bench.writer, .savepoint) { db in
            try Self.insert(1, "kept?")(db)
            try? Self.insert(1, "duplicate")(db)
        }
        #expect(Self.code(swallowed) == .unavailable)
        try await Self.submit(bench.writer, .savepoint, Self.insert(2, "next")).get()
        let ids = try await readers.read { db in try db.prepare("SELECT id FROM notes ORDER BY id").query { $0.int64(0) } }
        #expect(ids == [2])
        #expect(!bench.writer.isHalted)
    }

    /// The balances ledger jobs leave are written at the commit, the last one per account winning, and before a
    /// savepoint job, which reads them; the accounts no job touched keep theirs.
    @Test func balancesOfLedgerJobsAreWrittenLastValueWinning() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers()
        defer { readers.close() }
        try await Self.submit(bench.writer, .savepoint) { db in
            try db.execute("CREATE TABLE accounts(id bigint PRIMARY KEY, balance bigint NOT NULL)")
            try db.execute("INSERT INTO accounts(id, balance) VALUES (1, 0), (2, 0), (3, 0), (4, 9)")
        }.get()
        func writes(_ pairs: KeyValuePairs<Int64, Int64>) -> [BalanceWrite] {
            pairs.map { BalanceWrite(account: AccountID($0.key), balance: Money(cents: $0.value)) }
        }
        let seen = Box<Int64?>(nil)
        let done = await withTaskGroup(of: Bool.self) { group in
            // Submitted in this order from one task, so they run in it (most likely in one commit).
            let jobs: [(WriteIsolation, [BalanceWrite], @Sendable (any SQLDatabase) throws -> Void)] = [
                (.ledger, writes([3: 30, 1: 100, 2: -100]), { _ in }),
                (.ledger, writes([2: -50, 3: 50]), { _ in }),
                (.savepoint, [], { db in
                    seen.set(try db.prepare("SELECT balance FROM accounts WHERE id = ?").queryOne(2 as Int64) { $0.int64(0) })
                }),
                (.ledger, writes([1: 70, 3: 80]), { _ in }),
            ]
            for (isolation, balances, body) in jobs {
                let result = Box<Result<Void, any Error>?>(nil)
                let finished = AsyncStream<Void>.makeStream()
                bench.writer.submit(isolation, balances: balances, body) { outcome in
                    result.set(outcome)
                    finished.continuation.finish()
                }
                group.addTask {
                    for await _ in finished.stream {}
                    return (try? result.get()?.get()) != nil
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(done == [true, true, true, true])
        #expect(seen.get() == -50)
        let balances = try await readers.read { db in
            try db.prepare("SELECT id, balance FROM accounts ORDER BY id").query { [$0.int64(0), $0.int64(1)] }
        }
        #expect(balances == [[1, 70], [2, -50], [3, 80], [4, 9]])
        #expect(!bench.writer.isHalted)
    }

    /// A ledger job that throws fail-stops the writer: the hook runs, nothing of the batch is stored and later
    /// jobs are refused with `unavailable`.
    @Test func failingLedgerJobStopsTheWriter() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let answered = Box(false)
        bench.writer.submit(.ledger, { db in
            try Self.insert(7, "kept?")(db)
            try Self.insert(7, "duplicate")(db)
        }, completion: { _ in answered.set(true) })
        for _ in 0..<500 where !bench.writer.isHalted { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!answered.get(), "a ledger job gets no answer when its batch is lost")
        #expect(bench.writer.isHalted)
        #expect(bench.stopped.get()?.contains("ledger") == true)
        let later = await Self.submit(bench.writer, .savepoint, Self.insert(8, "after"))
        #expect(Self.code(later) == .unavailable)
        let readers = try bench.readers()
        defer { readers.close() }
        #expect(try await readers.read { db in try db.prepare("SELECT count(*) FROM notes").queryOne { $0.int64(0) } } == 0)
    }

    /// A ledger job whose body swallows a failed statement (no balances to write after it) still stops the
    /// writer: the COMMIT the server answers with ROLLBACK is no commit.
    @Test func ledgerJobThatSwallowsAnErrorStopsTheWriter() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let answered = Box(false)
        bench.writer.submit(.ledger, { db in
            try Self.insert(7, "kept?")(db)
            try? Self.insert(7, "duplicate")(db)
        }, completion: { _ in answered.set(true) })
        for _ in 0..<500 where !bench.writer.isHalted { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!answered.get(), "a ledger job gets no answer when its batch is lost")
        #expect(bench.writer.isHalted)
        #expect(bench.stopped.get()?.contains("COMMIT") == true)
        let readers = try bench.readers()
        defer { readers.close() }
        #expect(try await readers.read { db in try db.prepare("SELECT count(*) FROM notes").queryOne { $0.int64(0) } } == 0)
    }

    /// A second hub's writer on the same database refuses to start, naming why; once the first closes, it can.
    @Test func secondHubOnTheSameDatabaseIsRefused() async throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        #expect {
            _ = try Bench.writer(bench.peer)
        } throws: { error in
            "\(error)" == "another hub serves this database; several hubs need --bus on every one of them"
        }
        bench.writer.close()
        let second = try Bench.writer(bench.peer)
        #expect(try await Self.submit(second, .savepoint, Self.insert(1, "second hub")).get() == ())
        second.close()
    }

    /// Hubs started to run together (`--bus`) share the database; a lone hub is refused beside them, and they
    /// beside it, each naming what to do.
    @Test func hubsOfOneBusShareTheDatabaseButNotWithALoneHub() async throws {
        let bench = try Bench()
        defer { bench.peer.stop() }
        #expect {
            _ = try Bench.writer(bench.peer, lock: .shared)
        } throws: { error in
            "\(error)" == "a hub without --bus serves this database; stop it, or start every hub with --bus"
        }
        bench.writer.close()
        let first = try Bench.writer(bench.peer, lock: .shared)
        let second = try Bench.writer(bench.peer, lock: .shared)
        defer {
            first.close()
            second.close()
        }
        try await Self.submit(first, .savepoint, Self.insert(1, "first")).get()
        try await Self.submit(second, .savepoint, Self.insert(2, "second")).get()
        #expect {
            _ = try Bench.writer(bench.peer)
        } throws: { error in
            "\(error)" == "another hub serves this database; several hubs need --bus on every one of them"
        }
    }

    /// While the server is down a general job fails with `unavailable` and the writer does not stop; once the
    /// server is back the next job commits on a new connection, and the probe is a real write.
    @Test func lostConnectionFailsTheBatchAndTheNextOneReconnects() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        try await Self.submit(bench.writer, .savepoint, Self.insert(1, "before")).get()
        try bench.peer.stopServer()
        #expect(Self.code(await Self.submit(bench.writer, .savepoint, Self.insert(2, "down"))) == .unavailable)
        try bench.peer.startServer()
        try await Self.submit(bench.writer, .savepoint, Self.insert(3, "after")).get()
        try await withCheckedThrowingContinuation { continuation in
            bench.writer.probe(42) { continuation.resume(with: $0) }
        }
        #expect(!bench.writer.isHalted)
        let readers = try bench.readers()
        defer { readers.close() }
        let ids = try await readers.read { db in try db.prepare("SELECT id FROM notes ORDER BY id").query { $0.int64(0) } }
        #expect(ids == [1, 3])
        #expect(try await readers.read { db in try db.prepare("SELECT counter FROM hub_probe").queryOne { $0.int64(0) } } == 42)
    }

    /// A general job whose COMMIT loses the connection (a deferred trigger ends the session there) fails with
    /// `unavailable` and `outcomeUnknown` set, the typed case a caller tests before sending it again (the event
    /// sequencer resends only what surely did not happen); one that surely did not happen has it unset.
    @Test func jobWhoseCommitLosesTheConnectionIsOutcomeUnknown() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        try await Self.submit(bench.writer, .savepoint) { db in
            try db.execute(LedgerCommitTests.loseTheConnectionOnceAtCommit(table: "notes", when: "NEW.text = 'lose'"))
        }.get()
        let lost = await Self.submit(bench.writer, .savepoint, Self.insert(1, "lose"))
        #expect(Self.code(lost) == .unavailable)
        #expect(Self.unknown(lost) == true)
        let swallowed = await Self.submit(bench.writer, .savepoint) { db in
            try Self.insert(2, "kept?")(db)
            try? Self.insert(2, "duplicate")(db)
        }
        #expect(Self.code(swallowed) == .unavailable)
        #expect(Self.unknown(swallowed) == false)
        try await Self.submit(bench.writer, .savepoint, Self.insert(3, "lose")).get()
        #expect(!bench.writer.isHalted)
    }

    static func unknown<T>(_ result: Result<T, any Error>) -> Bool? {
        guard case .failure(let error) = result else { return nil }
        return (error as? BankError)?.outcomeUnknown
    }

    /// The server restarts while the writer and the readers are idle, so their connections are broken without
    /// their knowing: the first general job, the first ledger job (no fail-stop: nothing of it had reached the
    /// server) and the first read of every reader after it are answered on new connections, not `unavailable`.
    @Test func firstJobsAndReadsAfterARestartWhileIdleSucceed() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers()
        defer { readers.close() }
        try await Self.submit(bench.writer, .savepoint, Self.insert(1, "before")).get()
        try bench.peer.stopServer()
        try bench.peer.startServer()
        try await Self.submit(bench.writer, .savepoint, Self.insert(2, "general")).get()
        try bench.peer.stopServer()
        try bench.peer.startServer()
        try await Self.submit(bench.writer, .ledger, Self.insert(3, "ledger")).get()
        #expect(!bench.writer.isHalted && bench.stopped.get() == nil)
        let count: @Sendable (any SQLDatabase) throws -> Int64 = { db in
            try db.prepare("SELECT count(*) FROM notes").queryOne { $0.int64(0) } ?? -1
        }
        // Each general reader (two, taken in turn) and the sign-in reader.
        for _ in 0..<PostgresStorageOptions().generalReadersCount {
            #expect(try await readers.read(count) == 3)
        }
        #expect(try await ReadLane.$current.withValue(.signIn) { try await readers.read(count) } == 3)
    }

    /// Ledger writes that find the database gone fail-stop the writer (memory is ahead of the database) even
    /// though the server comes back: a restart must reload the ledger.
    @Test func ledgerBatchOnALostConnectionStopsTheWriter() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        try await Self.submit(bench.writer, .savepoint, Self.insert(1, "before")).get()
        try bench.peer.stopServer()
        bench.writer.submit(.ledger, Self.insert(2, "ledger"), completion: { _ in })
        for _ in 0..<500 where !bench.writer.isHalted { try await Task.sleep(for: .milliseconds(10)) }
        #expect(bench.writer.isHalted)
        #expect(bench.stopped.get()?.contains("ledger writes") == true)
        try bench.peer.startServer()
        #expect(Self.code(await Self.submit(bench.writer, .savepoint, Self.insert(3, "after"))) == .unavailable)
    }

    /// A read longer than the statement budget fails with `unavailable` "query too expensive"; the reader
    /// serves the next read.
    @Test func readPastTheStatementTimeoutIsUnavailable() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers(timeoutMilliseconds: 100)
        defer { readers.close() }
        let slow = await Result(catching: { try await readers.read { db in try db.execute("SELECT pg_sleep(2)") } })
        #expect(Self.code(slow) == .unavailable)
        #expect("\(slow)".contains("query too expensive"))
        #expect(try await readers.read { db in try db.prepare("SELECT 5").queryOne { $0.int64(0) } } == 5)
    }

    /// While slow reads hold every general reader, a sign-in read is answered at once by its own reader.
    @Test func signInReadIsNotQueuedBehindSlowGeneralReads() async throws {
        let bench = try Bench()
        defer { bench.stop() }
        let readers = try bench.readers(timeoutMilliseconds: 5_000)
        defer { readers.close() }
        // Every reader opens its session first (one read each: the general lane takes them in turn): on a loaded
        // machine a connection can take seconds, and this test is about queueing, not connecting.
        for _ in 0..<2 { _ = try await readers.read { db in try db.prepare("SELECT 1").queryOne { $0.int64(0) } } }
        _ = try await ReadLane.$current.withValue(.signIn) {
            try await readers.read { db in try db.prepare("SELECT 1").queryOne { $0.int64(0) } }
        }
        // One 4 s read on each general reader (their statements may run 5 s). Each says when it starts and ends;
        // a reader runs one read at a time, so two started means both readers are busy for the next seconds.
        let slowReads = SlowReads()
        let slow = (0..<2).map { _ in
            Task {
                try await readers.read { db in
                    slowReads.started.add(1, ordering: .relaxed)
                    try db.execute("SELECT pg_sleep(4)")
                    slowReads.finished.add(1, ordering: .relaxed)
                }
            }
        }
        // Under a loaded machine the reads take a while to reach the readers.
        let deadline = ContinuousClock.now + .seconds(30)
        while slowReads.started.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(slowReads.started.load(ordering: .relaxed) == 2, "the general readers are busy")
        let five = try await ReadLane.$current.withValue(.signIn) {
            try await readers.read { db in try db.prepare("SELECT 5").queryOne { $0.int64(0) } }
        }
        #expect(five == 5)
        // Queued behind a general reader, it would have been answered only after that reader's 4 s read ended
        // (compared by order, not by a clock: a loaded machine slows both sides alike).
        #expect(slowReads.finished.load(ordering: .relaxed) == 0, "the sign-in read waited for a general reader")
        for task in slow { try await task.value }
    }

    static func code<T>(_ result: Result<T, any Error>) -> ErrorCode? {
        guard case .failure(let error) = result else { return nil }
        return (error as? BankError)?.code
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A value set on one thread and read on another.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    func get() -> Value { value.withLock { $0 } }
}

/// How many of a test's slow reads have started and ended (`Atomic`s in a class, so escaping closures can share
/// them).
private final class SlowReads: Sendable {
    let started = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
}
