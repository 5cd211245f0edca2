import Foundation

/// The whole machine's CPU time since boot, from the first (`cpu`, all CPUs summed) line of /proc/stat, in clock
/// ticks (`ProcessCPU.ticksPerSecond`). Read when a window opens and when it closes, the difference says how
/// many cores were busy: the hub and the load generator, and whatever else shares the machine.
struct MachineTicks: Sendable, Equatable {
    /// user + nice + system + irq + softirq + steal. Guest time is not added: the kernel already counts it in
    /// user (and guest_nice in nice).
    let busy: Int
    /// idle + iowait.
    let idle: Int
    /// The `cpuN` lines: the CPUs these ticks are summed over (what `nproc` says when nothing narrows the
    /// process's CPU affinity; 2 here).
    let cpus: Int

    static func read() -> MachineTicks? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return parse(procStat: text)
    }

    /// The `cpu` line's fields are user nice system idle iowait irq softirq steal [guest guest_nice]; nil when
    /// there is no such line or it has fewer than the eight used here.
    static func parse(procStat: String) -> MachineTicks? {
        var total: [Int]?
        var cpus = 0
        for line in procStat.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let name = fields.first, name.hasPrefix("cpu") else { continue }
            if name == "cpu" {
                total = fields.dropFirst().compactMap { Int($0) }
            } else if Int(name.dropFirst(3)) != nil {
                cpus += 1
            }
        }
        guard let total, total.count >= 8 else { return nil }
        return MachineTicks(busy: total[0] + total[1] + total[2] + total[5] + total[6] + total[7],
                            idle: total[3] + total[4], cpus: cpus)
    }
}
