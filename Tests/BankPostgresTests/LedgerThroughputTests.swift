import BankCore
import BankPostgres
import Foundation
import Testing

/// Transfers per second of `PostgresLedger` with 1, 2 and 3 connections (hubs) and several batch sizes, printed
/// as a table; a measurement, run only with BANKHUB_PG_BENCH=1 (seconds per cell in BANKHUB_PG_BENCH_SECONDS).
struct LedgerThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["BANKHUB_PG_BENCH"] != nil
    static let accountCount = 1_000

    /// Every configuration commits transfers and leaves a ledger that verifies.
    @Test(.enabled(if: enabled)) func transfersPerSecond() async throws {
        let bank = try PostgresFixture()
        defer { bank.stop() }
        let seconds = Double(ProcessInfo.processInfo.environment["BANKHUB_PG_BENCH_SECONDS"] ?? "") ?? 3
        var accounts: [(UserID, AccountID)] = []
        for owner in 1...Self.accountCount {
            let user = UserID(Int64(owner))
            accounts.append((user, try await bank.fundedAccount(owner: user, cents: 1_000_000)))
        }
        let ledgers = [bank.ledger, try bank.secondLedger(), try bank.secondLedger()]
        defer { ledgers.dropFirst().forEach { $0.close() } }
        print("connections batch transfers/s cpu_us/transfer")
        for connections in 1...3 {
            for batch in [1, 16, 128] {
                let cpuBefore = Self.processCPUMicroseconds()
                let start = ContinuousClock.now
                let counts = await withTaskGroup(of: Int.self) { group in
                    for index in 0..<connections {
                        let shared = accounts
                        group.addTask {
                            await Self.run(ledgers[index], shared, batch: batch, seconds: seconds, seed: UInt64(index + 1))
                        }
                    }
                    return await group.reduce(0, +)
                }
                let elapsed = (ContinuousClock.now - start) / .seconds(1)
                let cpu = Double(Self.processCPUMicroseconds() - cpuBefore) / Double(max(counts, 1))
                print("\(connections) \(batch) \(Int(Double(counts) / elapsed)) \(Int(cpu))")
                #expect(counts > 0)
            }
        }
        #expect(try await bank.ledger.verify() == [])
    }

    /// Random transfers between the accounts in batches of `batch`, for `seconds`; returns those committed.
    private static func run(_ ledger: PostgresLedger, _ accounts: [(UserID, AccountID)], batch: Int, seconds: Double,
                            seed: UInt64) async -> Int {
        var random = SplitMix64(seed: seed)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        var committed = 0
        while ContinuousClock.now < deadline {
            let operations = (0..<batch).map { _ in
                let from = Int(random.next() % UInt64(accounts.count))
                let to = (from + 1 + Int(random.next() % UInt64(accounts.count - 1))) % accounts.count
                return LedgerOperation(.transfer(from: accounts[from].1, to: accounts[to].1, amount: Money(cents: 1)),
                                       by: accounts[from].0)
            }
            committed += await ledger.apply(operations).filter { (try? $0.get()) != nil }.count
        }
        return committed
    }

    /// User plus system CPU time of this process (the hub side: Swift, libpq), in microseconds.
    private static func processCPUMicroseconds() -> Int64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
            + Int64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}
