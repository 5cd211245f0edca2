import ArgumentParser
import BankCore
import BankPostgres
import Foundation

/// `bankhub-bench ledger-pg`: the PostgreSQL ledger layer alone, no hub and no WebSockets. `--connections`
/// `PostgresLedger`s (each its own connection and thread: one hub's ledger) with `--batch` transfers in flight
/// each; committed transfers/s, `apply` latency, this process's CPU time per transfer, then whether the money
/// it moved is all still there and `verify()` (every posting, balance and event seq in the database) holds.
/// `--processes P` runs P such processes at once against the same database (P hubs) and sums them.
struct LedgerPGScenario: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-pg",
        abstract: "Transfers/s and apply latency of the PostgreSQL ledger (no hub), then verify().")

    @Option(help: "The PostgreSQL database (postgresql://USER@HOST:PORT/DB); migrated if needed.") var database: String
    @Option(help: "Ledger connections in each process (1 to \(connectionsMax)), each a hub's ledger.") var connections = 1
    @Option(help: "Transfers kept in flight per connection (1 to \(batchMax)).") var batch = 128
    @Option(help: "Seconds to measure (after the warm-up).") var duration = 10.0
    @Option(help: "Seconds of load before measuring starts.") var warmup = 1.0
    @Option(help: "Customer accounts each process opens and funds at the start (2 to \(accountsMax)).")
    var accounts = 1_000
    @Option(help: "Processes run at once against the database (1 to \(processesMax)), each one hub; tps summed.")
    var processes = 1
    @Option(help: .hidden) var processIndex = 0
    /// With --processes: when (Unix milliseconds) every process opens its measured window, so they overlap.
    @Option(help: .hidden) var measureAt: Int64?
    @Flag(help: .hidden) var child = false
    @Flag(help: "Print one JSON object on the last line.") var json = false

    static let connectionsMax = 16
    /// One transaction holds at most `operationsPerTransactionMax` (512) operations and the ledger thread's
    /// queue takes 256 jobs at a time: more in flight would only wait longer in the queue.
    static let batchMax = 256
    static let accountsMax = 1_000_000
    static let processesMax = 16

    func validate() throws {
        guard database.hasPrefix("postgresql://") || database.hasPrefix("postgres://") else {
            throw ValidationError("--database must be a postgresql:// URL")
        }
        guard (1...Self.connectionsMax).contains(connections), (1...Self.batchMax).contains(batch),
              (2...Self.accountsMax).contains(accounts), (1...Self.processesMax).contains(processes),
              duration > 0, warmup >= 0, processIndex >= 0 else {
            throw ValidationError("--connections 1-\(Self.connectionsMax), --batch 1-\(Self.batchMax), --accounts "
                                  + "2-\(Self.accountsMax), --processes 1-\(Self.processesMax), --duration > 0")
        }
    }

    func run() async throws {
        if processes > 1 {
            try await LedgerPGProcesses(scenario: self).run()
            return
        }
        let ledgers = try (0..<connections).map { _ in try PostgresLedger(conninfo: conninfo) }
        defer { ledgers.forEach { $0.close() } }
        Progress.line("opening and funding \(accounts) accounts")
        let load = try await LedgerPGLoad.setUp(ledgers[0], count: accounts,
                                               ownerBase: Int64(processIndex) * Int64(Self.accountsMax))
        Progress.line("running \(connections) connection(s) x \(batch) in flight for \(warmup)+\(duration) s")
        let callers = load.start(ledgers, batch: batch, seed: UInt64(processIndex + 1))
        try await Task.sleep(for: .seconds(warmup))
        if let measureAt { try await Self.sleep(until: measureAt) }
        load.recorder.reset()
        let committedBefore = load.committed
        let cpu = CPUWindow.begin(hubs: [])
        try await Task.sleep(for: .seconds(duration))
        let committed = load.committed - committedBefore
        let usage = cpu.end()
        load.recorder.stop()
        load.stop()
        for caller in callers { await caller.value }
        let conserved = try await Self.holds(load, on: ledgers[0])
        let problems = child ? [] : try await ledgers[0].verify()
        problems.prefix(10).forEach { Progress.line("verify: \($0)") }

        var report = header(tps: Double(committed) / usage.wallSeconds, committed: committed)
        report.addLatency(load.recorder.summary)
        report.add("cpu_s", usage.benchSeconds ?? .nan, decimals: 2)
        report.add("cpu_us_per_transfer", (usage.benchSeconds ?? .nan) * 1e6 / Double(max(committed, 1)), decimals: 1)
        report.add("cpu_cores", (usage.benchSeconds ?? .nan) / usage.wallSeconds, decimals: 2)
        report.addErrors(load.recorder.errors)
        report.add("conserved", conserved)
        if !child { report.add("verify_problems", problems.count) }
        report.print(json: json || child)
        if !conserved || !problems.isEmpty || committed == 0 { throw ExitCode(2) }
    }

    /// `--database` with the server's NOTICEs (the migration's "already exists, skipping") kept off stderr.
    var conninfo: String {
        database.contains("options=") ? database
            : database + (database.contains("?") ? "&" : "?") + "options=-c%20client_min_messages%3Dwarning"
    }

    /// The report's first fields: what ran and how fast.
    func header(tps: Double, committed: Int) -> BenchReport {
        var report = BenchReport(scenario: "ledger-pg")
        report.add("processes", processes)
        report.add("connections", connections)
        report.add("batch", batch)
        report.add("accounts", accounts)
        report.add("duration_s", duration, decimals: 1)
        report.add("tps", tps, decimals: 1)
        report.add("committed", committed)
        return report
    }

    /// Sleeps until `unixMilliseconds` (at once when that has passed: set-up took longer than planned).
    private static func sleep(until unixMilliseconds: Int64) async throws {
        let left = unixMilliseconds - Int64(Date().timeIntervalSince1970 * 1_000)
        if left > 0 { try await Task.sleep(for: .milliseconds(left)) } else { Progress.line("window opened \(-left) ms late") }
    }

    /// Whether this run's accounts still hold all the money deposited into them (transfers only move it).
    private static func holds(_ load: LedgerPGLoad, on ledger: PostgresLedger) async throws -> Bool {
        let ids = "{" + load.accounts.map { String($0.account.rawValue) }.joined(separator: ",") + "}"
        let total = try await ledger.withConnection { connection throws(PostgresError) in
            try connection.query("SELECT COALESCE(SUM(balance), 0)::bigint FROM accounts WHERE id = ANY($1::bigint[])",
                                 [ids]).int64(0, 0)
        }
        if total != load.expectedCents { Progress.line("accounts hold \(total) cents, expected \(load.expectedCents)") }
        return total == load.expectedCents
    }
}
