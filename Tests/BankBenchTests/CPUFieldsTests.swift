@testable import bankhub_bench
import Glibc
import Testing

/// The /proc parsers and the arithmetic behind the bench's machine and run-queue fields (docs/performance.md,
/// "Reading the CPU fields").
@Suite struct CPUFieldsTests {
    static let procStat = """
        cpu  62574 10 6847 25586 470 3 155 91 40 0
        cpu0 31000 5 3400 12800 200 1 80 45 20 0
        cpu1 31574 5 3447 12786 270 2 75 46 20 0
        intr 1234567 0 9 0
        ctxt 9876543
        btime 1765000000
        processes 10425
        procs_running 3

        """

    /// Busy is user + nice + system + irq + softirq + steal (guest is inside user already); idle is idle +
    /// iowait; the CPUs are the `cpuN` lines.
    @Test func machineTicksFromTheCPULine() throws {
        let ticks = try #require(MachineTicks.parse(procStat: Self.procStat))
        #expect(ticks.busy == 62574 + 10 + 6847 + 3 + 155 + 91)
        #expect(ticks.idle == 25586 + 470)
        #expect(ticks.cpus == 2)
    }

    @Test func machineTicksNeedTheCPULine() {
        #expect(MachineTicks.parse(procStat: "cpu0 1 2 3 4 5 6 7 8\nintr 5\n") == nil)
        #expect(MachineTicks.parse(procStat: "cpu  1 2 3 4\n") == nil)
        #expect(MachineTicks.parse(procStat: "") == nil)
    }

    /// 250 busy and 150 idle ticks at 100 a second over a 2-second window: 1.25 cores busy, 0.75 idle, of 2.
    @Test func busyCoresOverAWindow() throws {
        let begin = MachineTicks(busy: 1_000, idle: 500, cpus: 2)
        let end = MachineTicks(busy: 1_250, idle: 650, cpus: 2)
        let usage = try #require(MachineUsage(begin: begin, end: end, ticksPerSecond: 100))
        #expect(usage.busyCores(wallSeconds: 2) == 1.25)
        #expect(usage.idleCores(wallSeconds: 2) == 0.75)
        #expect(usage.cores == 2)
        #expect(MachineUsage(begin: end, end: begin, ticksPerSecond: 100) == nil)
        #expect(MachineUsage(begin: nil, end: end, ticksPerSecond: 100) == nil)
    }

    @Test func schedstatIsOnCPUThenWait() throws {
        let times = try #require(SchedTimes.parse(schedstat: "869379 5502980 12\n"))
        #expect(times == SchedTimes(onCPUNanoseconds: 869_379, waitNanoseconds: 5_502_980))
        #expect(SchedTimes.parse(schedstat: "869379\n") == nil)
        #expect(SchedTimes.parse(schedstat: "a b c") == nil)
    }

    /// This test process's threads are read with their names, and at least this one has run.
    @Test func readsThisProcessThreads() throws {
        let threads = try #require(ThreadSample.read(processID: getpid()))
        #expect(threads.allSatisfy { $0.processID == getpid() && !$0.name.isEmpty })
        #expect(threads.contains { $0.times.onCPUNanoseconds > 0 })
        #expect(ThreadSample.read(processIDs: [getpid(), -1]) == nil)
    }

    static func sample(_ thread: Int32, _ name: String, onCPU: UInt64, wait: UInt64, process: Int32 = 7) -> ThreadSample {
        ThreadSample(processID: process, threadID: thread, name: name,
                     times: SchedTimes(onCPUNanoseconds: onCPU, waitNanoseconds: wait))
    }

    /// Only threads present at both ends count: one that started inside the window (its whole life would be
    /// counted) and one that ended (unknown) are left out, as is a reused thread id whose counters went back.
    @Test func aWindowCountsThreadsPresentAtBothEnds() {
        let begin = [Self.sample(1, "lws-service", onCPU: 1_000, wait: 100),
                     Self.sample(2, "bankhub", onCPU: 5_000, wait: 900),
                     Self.sample(3, "gone", onCPU: 7_000, wait: 7_000),
                     Self.sample(4, "reused", onCPU: 9_000, wait: 9_000),
                     Self.sample(1, "other-hub", onCPU: 0, wait: 0, process: 8)]
        let end = [Self.sample(1, "lws-service", onCPU: 4_000, wait: 600),
                   Self.sample(2, "bankhub", onCPU: 5_500, wait: 2_900),
                   Self.sample(5, "new", onCPU: 80_000, wait: 80_000),
                   Self.sample(4, "reused", onCPU: 10, wait: 10),
                   Self.sample(1, "other-hub", onCPU: 300, wait: 30, process: 8)]
        let usage = RunQueueUsage(threads: ThreadWindow.between(begin: begin, end: end))
        #expect(usage.threads.map(\.name) == ["lws-service", "bankhub", "other-hub"])
        #expect(usage.waitNanoseconds == 500 + 2_000 + 30)
        #expect(usage.onCPUNanoseconds == 3_000 + 500 + 300)
    }

    /// Ranked most first, ties by name, threads with none left out, in milliseconds per second of the window.
    @Test func topThreadsAsCommMillisecondsPerSecond() {
        let usage = RunQueueUsage(threads: [
            ThreadWindow(name: "a", onCPUNanoseconds: 0, waitNanoseconds: 2_000_000),
            ThreadWindow(name: "lws-service", onCPUNanoseconds: 9_000_000_000, waitNanoseconds: 900_000_000),
            ThreadWindow(name: "c", onCPUNanoseconds: 1_000_000, waitNanoseconds: 2_000_000),
            ThreadWindow(name: "idle", onCPUNanoseconds: 0, waitNanoseconds: 0),
            ThreadWindow(name: "writer", onCPUNanoseconds: 4_000_000_000, waitNanoseconds: 300_000_000),
        ])
        #expect(usage.top(3, by: \.waitNanoseconds, wallSeconds: 10) == "lws-service:90.0,writer:30.0,a:0.2")
        #expect(usage.top(5, by: \.onCPUNanoseconds, wallSeconds: 10) == "lws-service:900.0,writer:400.0,c:0.1")
    }

    /// The fields a report gets from one window, in the human table and the JSON line alike.
    @Test func theReportCarriesMachineAndRunQueueFields() throws {
        let usage = CPUUsage(
            hubSeconds: 12, benchSeconds: 2,
            machine: MachineUsage(begin: MachineTicks(busy: 0, idle: 0, cpus: 2),
                                  end: MachineTicks(busy: 1_900, idle: 100, cpus: 2), ticksPerSecond: 100),
            hubRunQueue: RunQueueUsage(threads: [ThreadWindow(name: "lws-service", onCPUNanoseconds: 7_000_000_000,
                                                              waitNanoseconds: 2_500_000_000)]),
            benchRunQueue: RunQueueUsage(threads: [ThreadWindow(name: "ws-client-loop", onCPUNanoseconds: 1_000_000_000,
                                                                waitNanoseconds: 500_000_000)]),
            wallSeconds: 10)
        var report = BenchReport(scenario: "fanout")
        usage.add(to: &report, transfers: 50_000)
        let json = report.jsonLine
        for expected in ["\"machine_busy_cores\":1.90", "\"machine_idle_cores\":0.10", "\"machine_cores\":2",
                         "\"hub_runqueue_wait_us_per_transfer\":50.0", "\"hub_runqueue_wait_ms_per_s\":250.0",
                         "\"hub_threads_wait\":\"lws-service:250.0\"", "\"hub_threads_cpu\":\"lws-service:700.0\"",
                         "\"bench_runqueue_wait_us_per_transfer\":10.0", "\"bench_runqueue_wait_ms_per_s\":50.0"] {
            #expect(json.contains(expected), "\(expected) in \(json)")
        }
    }
}
