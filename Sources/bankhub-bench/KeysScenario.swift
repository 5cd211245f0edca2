import ArgumentParser
import BankCore
import BankStorage
import BankStore
import Foundation
import Glibc

/// `bankhub-bench keys`: the memory the ledger's idempotency registry holds per key after start-up, with
/// every key loaded as a full entry (all inside the recent window, which is how every key was held before the
/// window existed) and with every key as an 8-byte hash (all older than the window). Measures this process's
/// RSS around a load whose result is kept, after `malloc_trim` hands freed heap back to the kernel; SQLite's
/// page cache is capped at 2 MiB, so it hardly counts. One mode per run: memory freed by an earlier load
/// would be reused by the next and hide it. Memory only; no timing claims.
struct KeysScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Heap bytes per idempotency key held by the ledger, full entries vs hashes.")

    @Option(help: "Keyed transactions to store and load.") var count = 1_000_000
    @Option(help: "full: every key inside the recent window (a full entry each); hashed: every key older.")
    var mode = "hashed"
    @Flag(help: "Print one JSON object on the last line.") var json = false

    func validate() throws {
        guard count > 0 else { throw ValidationError("count must be positive") }
        guard ["full", "hashed"].contains(mode) else { throw ValidationError("mode is full or hashed") }
    }

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let writer = try DatabaseWriter(path: directory.appendingPathComponent("bank.sqlite").path)
        defer { writer.close() }
        let now = Clock.now()
        let made = Timestamp(milliseconds: now.milliseconds - 2 * 86_400_000)
        Progress.line("storing \(count) keyed transactions")
        try await Self.store(count, at: made, writer)
        try await writer.write { db in try db.execute("PRAGMA cache_size = -2048") }

        let recentSince = mode == "full" ? made : now
        let before = try Self.residentBytesAfterTrim()
        let snapshot = try await writer.write { db in try LedgerRecords.load(db, recentSince: recentSince) }
        let after = try Self.residentBytesAfterTrim()
        precondition(snapshot.idempotency.count == count, "every key was loaded")
        var report = BenchReport(scenario: "keys")
        report.add("mode", mode)
        report.add("keys", count)
        report.add("full_entries", snapshot.idempotency.recentCount)
        report.add("hashes", snapshot.idempotency.storedCount)
        report.add("rss_before_mib", Double(before) / 1_048_576, decimals: 1)
        report.add("rss_after_mib", Double(after) / 1_048_576, decimals: 1)
        report.add("bytes_per_key", Double(after - before) / Double(count), decimals: 1)
        withExtendedLifetime(snapshot) {}
        report.print(json: json)
    }

    /// One user, one account and `count` deposits with 36-character keys (the length of a UUID, which is what
    /// the web client sends), in commits of 10,000.
    private static func store(_ count: Int, at: Timestamp, _ writer: DatabaseWriter) async throws {
        try await writer.write { db in
            _ = try UserRecords.insert(db, .init(username: "bench", passwordHash: "x", role: .customer, email: nil,
                                                 phone: nil, fullName: nil, at: at))
            try db.execute("INSERT INTO accounts(id, owner_id, kind, name, created_at) VALUES (1001, 1, 'customer', 'A', 0)")
        }
        for start in stride(from: 0, to: count, by: 10_000) {
            let end = min(start + 10_000, count)
            try await writer.write { db in
                let insert = try db.prepare("""
                    INSERT INTO transactions(id, kind, user_id, amount, debit_account, credit_account, idempotency_key, created_at)
                    VALUES (?, 'deposit', 1, 100, 1, 1001, ?, ?)
                    """)
                for index in start..<end {
                    try insert.run(Int64(index + 1), "00000000-0000-4000-8000-" + String(format: "%012d", index), at.milliseconds)
                }
            }
        }
    }

    /// This process's resident bytes, after glibc returned the free parts of its heap (`malloc_trim(0)`).
    private static func residentBytesAfterTrim() throws -> Int {
        // `malloc_trim` is in malloc.h, which Swift's Glibc module does not import: found by name, and called
        // through its C type, `int malloc_trim(size_t pad)`.
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else {
            throw BenchError("malloc_trim not found")
        }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        guard let pages = Int(statm.split(separator: " ").dropFirst().first ?? "") else {
            throw BenchError("cannot read /proc/self/statm")
        }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
