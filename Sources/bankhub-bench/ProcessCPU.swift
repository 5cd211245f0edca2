import Foundation
import Glibc

/// CPU time (user + system) of a process, from /proc/PID/stat, in clock ticks (`sysconf(_SC_CLK_TCK)`,
/// 100 per second here: 10 ms resolution, so over a 10-second window the error is well under 1%).
enum ProcessCPU {
    static let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))

    /// Seconds of CPU `pid` used so far; `nil` when it cannot be read (no such process, not Linux).
    static func seconds(of pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return seconds(stat: stat, ticksPerSecond: ticksPerSecond)
    }

    /// utime + stime: fields 14 and 15 of a /proc/PID/stat line. The command name (field 2) is in parentheses
    /// and may hold spaces, so fields are counted after its last ")". The same parse as BankHub's
    /// `ProcessStatistics.cpuSeconds` (internal there, and this target measures other processes).
    static func seconds(stat: String, ticksPerSecond: Int) -> Double? {
        guard ticksPerSecond > 0, let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field N is fields[N - 3].
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return Double(user + system) / Double(ticksPerSecond)
    }
}

/// CPU used by the hubs (when they are processes of their own) and by this load generator over a measured
/// window: `begin` when the window opens, `end` when it closes. With several hubs their CPU is summed: a
/// transfer's cost is what all of them spent on it.
struct CPUWindow: Sendable {
    private let hubProcessIDs: [Int32]
    private let hubStart: Double?
    private let benchStart: Double?
    private let wallStart: UInt64

    /// `hubs` are the hubs' process ids when they are not this process (see ``BenchTarget/separateProcessIDs``).
    static func begin(hubs: [Int32]) -> CPUWindow {
        CPUWindow(hubProcessIDs: hubs, hubStart: total(hubs.map(ProcessCPU.seconds(of:))),
                  benchStart: ProcessCPU.seconds(of: getpid()), wallStart: Nanoseconds.now())
    }

    func end() -> CPUUsage {
        let wall = Double(Nanoseconds.now() - wallStart) / 1e9
        func used(_ start: Double?, _ now: Double?) -> Double? {
            guard let start, let now, now >= start else { return nil }
            return now - start
        }
        return CPUUsage(hubSeconds: used(hubStart, Self.total(hubProcessIDs.map(ProcessCPU.seconds(of:)))),
                        benchSeconds: used(benchStart, ProcessCPU.seconds(of: getpid())), wallSeconds: wall)
    }

    /// The sum of the hubs' CPU seconds; nil when there are none or one cannot be read (a sum missing a hub
    /// would understate the cost per transfer).
    static func total(_ seconds: [Double?]) -> Double? {
        guard !seconds.isEmpty else { return nil }
        var sum = 0.0
        for value in seconds {
            guard let value else { return nil }
            sum += value
        }
        return sum
    }
}

/// What ``CPUWindow`` measured.
struct CPUUsage: Sendable {
    /// nil when the hub runs in this process (its time is in `benchSeconds`) or its process is not known;
    /// summed over the hubs when there are several.
    let hubSeconds: Double?
    let benchSeconds: Double?
    let wallSeconds: Double

    /// `hub_cpu_us_per_transfer`, `hub_cpu_cores` (hub CPU seconds / window seconds), then the same for this
    /// load generator (`bench_cpu_*`; with `--in-process` that includes the hub). `transfers` are those the
    /// window counted (committed, or sent for an open loop).
    func add(to report: inout BenchReport, transfers: Int) {
        precondition(transfers >= 0 && wallSeconds > 0, "a window with a length")
        for (prefix, seconds) in [("hub", hubSeconds), ("bench", benchSeconds)] {
            guard let seconds else { continue }
            report.add("\(prefix)_cpu_us_per_transfer", transfers > 0 ? seconds * 1e6 / Double(transfers) : .nan,
                       decimals: 1)
            report.add("\(prefix)_cpu_cores", seconds / wallSeconds, decimals: 2)
        }
    }
}
