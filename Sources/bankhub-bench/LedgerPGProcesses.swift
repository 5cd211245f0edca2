import ArgumentParser
import BankPostgres
import Foundation

/// `ledger-pg --processes P`: P copies of this executable, each a `ledger-pg` of one process (one hub, its own
/// accounts), started together against the same database with a common measured window; their JSON lines are
/// summed (tps, committed, CPU) or taken at the worst (latency percentiles: the slowest hub's), and `verify()`
/// runs once on the whole database after all have stopped.
struct LedgerPGProcesses {
    /// Time every process gets to connect, migrate and fund its accounts before the common window opens.
    static let setUpSecondsMax = 3.0

    let scenario: LedgerPGScenario

    func run() async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let measureAt = Int64((Date().timeIntervalSince1970 + Self.setUpSecondsMax + scenario.warmup) * 1_000)
        Progress.line("starting \(scenario.processes) ledger-pg processes")
        let children = try (0..<scenario.processes).map { index in
            try Self.spawn(executable, arguments(index: index, measureAt: measureAt))
        }
        var lines: [[String: Any]] = []
        for (process, output) in children {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
                throw BenchError("a ledger-pg process (pid \(process.processIdentifier)) ended with status "
                                 + "\(process.terminationStatus) and no JSON line")
            }
            lines.append(object)
        }
        let ledger = try PostgresLedger(conninfo: scenario.conninfo)
        defer { ledger.close() }
        let problems = try await ledger.verify()
        problems.prefix(10).forEach { Progress.line("verify: \($0)") }
        let report = Self.sum(lines, header: scenario, problems: problems.count)
        report.print(json: scenario.json)
        let conserved = lines.allSatisfy { $0["conserved"] as? Bool == true }
        if !conserved || !problems.isEmpty || Self.total("committed", lines) == 0 { throw ExitCode(2) }
    }

    /// The child's command line: the same run as one process of index `index`.
    private func arguments(index: Int, measureAt: Int64) -> [String] {
        ["ledger-pg", "--database", scenario.database, "--connections", String(scenario.connections),
         "--batch", String(scenario.batch), "--duration", String(scenario.duration), "--warmup", String(scenario.warmup),
         "--accounts", String(scenario.accounts), "--processes", "1", "--process-index", String(index),
         "--measure-at", String(measureAt), "--child"]
    }

    /// Starts `executable` with stdout to a pipe (the report) and stderr shared (progress lines).
    private static func spawn(_ executable: String, _ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    /// One report for all the processes.
    private static func sum(_ lines: [[String: Any]], header scenario: LedgerPGScenario, problems: Int) -> BenchReport {
        let committed = Int(total("committed", lines))
        var report = scenario.header(tps: total("tps", lines), committed: committed)
        for key in ["p50_ms", "p99_ms", "p999_ms", "max_ms"] {
            report.add(key, lines.map { number(key, $0) }.max() ?? .nan)
        }
        report.add("tps_per_process", lines.map { String(format: "%.0f", number("tps", $0)) }.joined(separator: " "))
        let cpu = total("cpu_s", lines)
        report.add("cpu_s", cpu, decimals: 2)
        report.add("cpu_us_per_transfer", cpu * 1e6 / Double(max(committed, 1)), decimals: 1)
        var errors: [String: Int] = [:]
        for line in lines {
            for (code, count) in line["errors"] as? [String: Any] ?? [:] { errors[code, default: 0] += count as? Int ?? 0 }
        }
        report.addErrors(errors)
        report.add("conserved", lines.allSatisfy { $0["conserved"] as? Bool == true })
        report.add("verify_problems", problems)
        return report
    }

    private static func number(_ key: String, _ line: [String: Any]) -> Double {
        (line[key] as? NSNumber)?.doubleValue ?? .nan
    }

    private static func total(_ key: String, _ lines: [[String: Any]]) -> Double {
        lines.map { number(key, $0) }.reduce(0, +)
    }
}
