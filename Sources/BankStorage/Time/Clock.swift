import Glibc
import BankCore
import BankStorage

/// Wall-clock time in milliseconds, the unit of every stored time.
public enum Clock {
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }

    public static func now() -> Timestamp { Timestamp(milliseconds: nowMilliseconds()) }
}
