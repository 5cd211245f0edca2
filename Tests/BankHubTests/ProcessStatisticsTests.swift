@testable import BankHub
import Testing

/// The /proc parsing behind `process_cpu_seconds_total` and `process_resident_memory_bytes`.
@Suite struct ProcessStatisticsTests {
    /// utime + stime are counted after the command name, even one with spaces and parentheses in it.
    @Test func readsCPUTimeAfterACommandNameWithSpaces() {
        let stat = "4242 (bank hub (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
        #expect(ProcessStatistics.cpuSeconds(stat: stat, ticksPerSecond: 100) == 3.0)
    }

    @Test func rejectsATruncatedStatLine() {
        #expect(ProcessStatistics.cpuSeconds(stat: "4242 (bankhub) S 1 2", ticksPerSecond: 100) == nil)
        #expect(ProcessStatistics.cpuSeconds(stat: "no parenthesis", ticksPerSecond: 100) == nil)
    }

    @Test func residentBytesArePagesTimesPageSize() {
        #expect(ProcessStatistics.residentBytes(statm: "5000 1200 300 10 0 900 0\n", pageBytes: 4_096) == 1200 * 4_096)
        #expect(ProcessStatistics.residentBytes(statm: "5000", pageBytes: 4_096) == nil)
    }

    /// This test process has a reading: some memory, some descriptors (stdio at least).
    @Test func readsThisProcess() throws {
        let reading = try #require(ProcessStatistics.read())
        #expect(reading.residentBytes > 0 && reading.openFileDescriptors >= 3 && reading.cpuSeconds >= 0)
    }
}
