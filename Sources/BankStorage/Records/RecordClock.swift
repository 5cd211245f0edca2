import Glibc

/// Wall-clock milliseconds for the few record reads that compare with now (a user's lock ending), measured in
/// Swift because SQLite and PostgreSQL share no SQL for "now in milliseconds".
enum RecordClock {
    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
