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
/// transfer's cost is what all of them spent on it. Alongside: the whole machine's busy time (/proc/stat) and
/// the time the hubs' and this process's threads spent runnable but waiting for a CPU (schedstat), so a report
/// says whether its latency tail is queueing for CPU.
struct CPUWindow: Sendable {
    private let hubProcessIDs: [Int32]
    private let hubStart: Double?
    private let benchStart: Double?
    private let machineStart: MachineTicks?
    private let hubThreadsStart: [ThreadSample]?
    private let benchThreadsStart: [ThreadSample]?
    private let wallStart: UInt64

    /// `hubs` are the hubs' process ids when they are not this process (see ``BenchTarget/separateProcessIDs``).
    static func begin(hubs: [Int32]) -> CPUWindow {
        CPUWindow(hubProcessIDs: hubs, hubStart: total(hubs.map(ProcessCPU.seconds(of:))),
                  benchStart: ProcessCPU.seconds(of: getpid()), machineStart: MachineTicks.read(),
                  hubThreadsStart: ThreadSample.read(processIDs: hubs),
                  benchThreadsStart: ThreadSample.read(processID: getpid()), wallStart: Nanoseconds.now())
    }

    func end() -> CPUUsage {
        let wall = Double(Nanoseconds.now() - wallStart) / 1e9
        func used(_ start: Double?, _ now: Double?) -> Double? {
            guard let start, let now, now >= start else { return nil }
            return now - start
        }
        func waited(_ start: [ThreadSample]?, _ now: [ThreadSample]?) -> RunQueueUsage? {
            guard let start, let now else { return nil }
            return RunQueueUsage(threads: ThreadWindow.between(begin: start, end: now))
        }
        return CPUUsage(hubSeconds: used(hubStart, Self.total(hubProcessIDs.map(ProcessCPU.seconds(of:)))),
                        benchSeconds: used(benchStart, ProcessCPU.seconds(of: getpid())),
                        machine: MachineUsage(begin: machineStart, end: MachineTicks.read()),
                        hubRunQueue: waited(hubThreadsStart, ThreadSample.read(processIDs: hubProcessIDs)),
                        benchRunQueue: waited(benchThreadsStart, ThreadSample.read(processID: getpid())),
                        wallSeconds: wall)
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
    /// nil when /proc/stat cannot be read.
    let machine: MachineUsage?
    /// The hubs' threads (nil as for `hubSeconds`, or when schedstat cannot be read); with `--in-process` the
    /// hub's threads are in `benchRunQueue`.
    let hubRunQueue: RunQueueUsage?
    let benchRunQueue: RunQueueUsage?
    let wallSeconds: Double

    /// How many threads the report names in `hub_threads_wait` and `hub_threads_cpu`.
    static let threadsNamed = 5

    /// `hub_cpu_us_per_transfer`, `hub_cpu_cores` (hub CPU seconds / window seconds), then the same for this
    /// load generator (`bench_cpu_*`; with `--in-process` that includes the hub). `transfers` are those the
    /// window counted (committed, or sent for an open loop). Then the machine's busy cores and the run-queue
    /// waits (see ``addMachine(to:)`` and ``addRunQueue(to:transfers:)``).
    func add(to report: inout BenchReport, transfers: Int) {
        precondition(transfers >= 0 && wallSeconds > 0, "a window with a length")
        for (prefix, seconds) in [("hub", hubSeconds), ("bench", benchSeconds)] {
            guard let seconds else { continue }
            report.add("\(prefix)_cpu_us_per_transfer", transfers > 0 ? seconds * 1e6 / Double(transfers) : .nan,
                       decimals: 1)
            report.add("\(prefix)_cpu_cores", seconds / wallSeconds, decimals: 2)
        }
        addMachine(to: &report)
        addRunQueue(to: &report, transfers: transfers)
    }

    /// `machine_busy_cores` (busy ticks of all CPUs / ticks per second / window seconds), `machine_idle_cores`
    /// (the same of the idle ticks) and `machine_cores`. On a tickless kernel /proc/stat's idle time is measured
    /// at each idle entry and exit while busy time is sampled at each tick, so short bursts can leave busy low:
    /// busy + idle short of the cores says by how much, and cores - idle is then the better figure.
    func addMachine(to report: inout BenchReport) {
        guard let machine else { return }
        report.add("machine_busy_cores", machine.busyCores(wallSeconds: wallSeconds), decimals: 2)
        report.add("machine_idle_cores", machine.idleCores(wallSeconds: wallSeconds), decimals: 2)
        report.add("machine_cores", machine.cores)
    }

    /// `hub_runqueue_wait_us_per_transfer` (the hubs' threads' run-queue wait summed, per transfer),
    /// `hub_runqueue_wait_ms_per_s` (the same per second of the window: 1000 is one thread always waiting),
    /// `hub_threads_wait` and `hub_threads_cpu` (the five threads that waited most, and that ran most, as
    /// "comm:ms per s,…"); then `bench_runqueue_wait_us_per_transfer` and `bench_runqueue_wait_ms_per_s`.
    func addRunQueue(to report: inout BenchReport, transfers: Int) {
        for (prefix, usage) in [("hub", hubRunQueue), ("bench", benchRunQueue)] {
            guard let usage else { continue }
            let wait = Double(usage.waitNanoseconds)
            report.add("\(prefix)_runqueue_wait_us_per_transfer", transfers > 0 ? wait / 1e3 / Double(transfers) : .nan,
                       decimals: 1)
            report.add("\(prefix)_runqueue_wait_ms_per_s", wait / 1e6 / wallSeconds, decimals: 1)
            if prefix == "hub" {
                report.add("hub_threads_wait", usage.top(Self.threadsNamed, by: \.waitNanoseconds, wallSeconds: wallSeconds))
                report.add("hub_threads_cpu", usage.top(Self.threadsNamed, by: \.onCPUNanoseconds, wallSeconds: wallSeconds))
            }
        }
    }
}

/// The machine's ticks at both ends of a window.
struct MachineUsage: Sendable, Equatable {
    let busyTicks: Int
    let idleTicks: Int
    let cores: Int
    let ticksPerSecond: Int

    /// nil when either end is missing or the counters went backwards.
    init?(begin: MachineTicks?, end: MachineTicks?, ticksPerSecond: Int = ProcessCPU.ticksPerSecond) {
        guard let begin, let end, end.busy >= begin.busy, end.idle >= begin.idle, ticksPerSecond > 0 else { return nil }
        busyTicks = end.busy - begin.busy
        idleTicks = end.idle - begin.idle
        cores = end.cpus
        self.ticksPerSecond = ticksPerSecond
    }

    func busyCores(wallSeconds: Double) -> Double {
        Double(busyTicks) / Double(ticksPerSecond) / wallSeconds
    }

    func idleCores(wallSeconds: Double) -> Double {
        Double(idleTicks) / Double(ticksPerSecond) / wallSeconds
    }
}
