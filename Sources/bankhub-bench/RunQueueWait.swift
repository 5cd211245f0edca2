import Foundation

/// What the scheduler counted for one thread since it started, from /proc/PID/task/TID/schedstat
/// ("oncpu_ns wait_ns timeslices"): nanoseconds on a CPU, and nanoseconds runnable but waiting on a run queue
/// for one. Waiting is the part of the latency that is queueing for CPU.
struct SchedTimes: Sendable, Equatable {
    let onCPUNanoseconds: UInt64
    let waitNanoseconds: UInt64

    /// The first two fields; nil when either is missing or not a number.
    static func parse(schedstat: String) -> SchedTimes? {
        let fields = schedstat.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let onCPU = UInt64(fields[0]), let wait = UInt64(fields[1]) else { return nil }
        return SchedTimes(onCPUNanoseconds: onCPU, waitNanoseconds: wait)
    }
}

/// One thread's ``SchedTimes`` at one moment, with its name (`comm`).
struct ThreadSample: Sendable, Equatable {
    let processID: Int32
    let threadID: Int32
    let name: String
    let times: SchedTimes

    /// Every thread of `processID` now; nil when the process cannot be read (gone, not Linux, or a kernel
    /// without schedstat). A thread that ends while it is being listed is left out.
    static func read(processID: Int32) -> [ThreadSample]? {
        let directory = "/proc/\(processID)/task"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return nil }
        var samples: [ThreadSample] = []
        for entry in entries {
            guard let threadID = Int32(entry),
                  let stat = try? String(contentsOfFile: "\(directory)/\(entry)/schedstat", encoding: .utf8),
                  let times = SchedTimes.parse(schedstat: stat) else { continue }
            let comm = (try? String(contentsOfFile: "\(directory)/\(entry)/comm", encoding: .utf8)) ?? "?"
            samples.append(ThreadSample(processID: processID, threadID: threadID,
                                        name: comm.trimmingCharacters(in: .whitespacesAndNewlines), times: times))
        }
        return samples.isEmpty ? nil : samples
    }

    /// The threads of all of `processIDs`; nil when there are none or one cannot be read (a sum missing a
    /// process would understate the wait).
    static func read(processIDs: [Int32]) -> [ThreadSample]? {
        guard !processIDs.isEmpty else { return nil }
        var all: [ThreadSample] = []
        for processID in processIDs {
            guard let samples = read(processID: processID) else { return nil }
            all += samples
        }
        return all
    }
}

/// What one thread's scheduler times grew by over a window.
struct ThreadWindow: Sendable, Equatable {
    let name: String
    let onCPUNanoseconds: UInt64
    let waitNanoseconds: UInt64

    /// The growth of each thread present at both `begin` and `end`, matched by process and thread id. Threads
    /// that started or ended inside the window are left out: their times at one end are unknown, so their
    /// difference would be their whole life (or nothing). The hub's and the load generator's threads are
    /// started before the window and live past it, so this leaves out at most a short-lived helper thread.
    static func between(begin: [ThreadSample], end: [ThreadSample]) -> [ThreadWindow] {
        struct Key: Hashable { let processID: Int32; let threadID: Int32 }
        var before: [Key: SchedTimes] = [:]
        for sample in begin { before[Key(processID: sample.processID, threadID: sample.threadID)] = sample.times }
        return end.compactMap { sample in
            // A thread id reused by a new thread has counters below the old ones: not the same thread.
            guard let start = before[Key(processID: sample.processID, threadID: sample.threadID)],
                  sample.times.onCPUNanoseconds >= start.onCPUNanoseconds,
                  sample.times.waitNanoseconds >= start.waitNanoseconds else { return nil }
            return ThreadWindow(name: sample.name,
                                onCPUNanoseconds: sample.times.onCPUNanoseconds - start.onCPUNanoseconds,
                                waitNanoseconds: sample.times.waitNanoseconds - start.waitNanoseconds)
        }
    }
}

/// The run-queue figures of a group of threads (the hubs', or the load generator's) over a window.
struct RunQueueUsage: Sendable, Equatable {
    let threads: [ThreadWindow]

    var waitNanoseconds: UInt64 { threads.reduce(0) { $0 + $1.waitNanoseconds } }
    var onCPUNanoseconds: UInt64 { threads.reduce(0) { $0 + $1.onCPUNanoseconds } }

    /// The `count` threads with the most of `time`, most first (ties by name, so the output is stable), as
    /// "comm:ms,…" with each thread's milliseconds per second of the window; threads with none are left out.
    func top(_ count: Int, by time: KeyPath<ThreadWindow, UInt64>, wallSeconds: Double) -> String {
        let ranked = threads.filter { $0[keyPath: time] > 0 }.sorted {
            ($0[keyPath: time], $1.name) > ($1[keyPath: time], $0.name)
        }
        return ranked.prefix(count).map {
            "\($0.name):" + String(format: "%.1f", Double($0[keyPath: time]) / 1e6 / wallSeconds)
        }.joined(separator: ",")
    }
}
