@testable import BankStorage
@testable import BankStore
import Foundation
import Synchronization
import Testing

/// The commit observer (the hub's metrics) is called after every commit for the life of the process.
struct WriterStatisticsTests {
    /// A closure kept as a bare `Mutex` value grew by two re-abstraction thunks at every read, so each commit
    /// called through a longer chain and the writer thread's stack overflowed after tens of thousands of
    /// commits (the fan-out benchmark crashed with SIGSEGV a few seconds in). On a thread with a 256 KiB stack
    /// that happened within a few thousand commits; now the chain stays one call deep.
    @Test func observerStaysOneCallDeepOverManyCommits() {
        let statistics = WriterStatistics()
        let seen = Atomic(0)
        statistics.observe { sample in
            seen.add(sample.batchSize, ordering: .relaxed)
        }
        let commits = 50_000
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for _ in 0..<commits { statistics.record(batchSize: 1, durationNanoseconds: 1) }
            done.signal()
        }
        thread.stackSize = 256 << 10
        thread.start()
        done.wait()
        #expect(seen.load(ordering: .relaxed) == commits)
        #expect(statistics.snapshot == (commits, commits))
    }
}
