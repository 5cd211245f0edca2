import Foundation

/// The process metrics Prometheus clients conventionally export, read from Linux's /proc/self at scrape time.
enum ProcessStatistics {
    struct Reading: Sendable, Equatable {
        var residentBytes: Int
        var openFileDescriptors: Int
        /// User plus system CPU time since the process started.
        var cpuSeconds: Double
    }

    /// The reading now; nil where /proc is not mounted (not Linux).
    static func read() -> Reading? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let cpu = cpuSeconds(stat: stat, ticksPerSecond: Int(sysconf(Int32(_SC_CLK_TCK)))),
              let resident = residentBytes(statm: statm, pageBytes: Int(sysconf(Int32(_SC_PAGESIZE)))),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else {
            return nil
        }
        // The listing itself held one descriptor open while it ran.
        return Reading(residentBytes: resident, openFileDescriptors: max(0, descriptors.count - 1), cpuSeconds: cpu)
    }

    /// utime + stime (fields 14 and 15 of /proc/self/stat, in clock ticks) in seconds. The command name (field 2)
    /// is in parentheses and may contain spaces, so fields are counted after its closing parenthesis.
    static func cpuSeconds(stat: String, ticksPerSecond: Int) -> Double? {
        guard ticksPerSecond > 0, let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: field 3 (state) is fields[0], so field N is fields[N - 3].
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return Double(user + system) / Double(ticksPerSecond)
    }

    /// The resident set (field 2 of /proc/self/statm, in pages) in bytes.
    static func residentBytes(statm: String, pageBytes: Int) -> Int? {
        let fields = statm.split(separator: " ")
        guard pageBytes > 0, fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * pageBytes
    }
}
