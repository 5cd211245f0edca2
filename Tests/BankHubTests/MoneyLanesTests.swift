@testable import BankHub
import Synchronization
import Testing

/// The money lane on its own: work queued for one connection runs in order, each item after the one before it
/// has finished, however long each takes; another connection's lane does not wait for it; an emptied lane is idle.
struct MoneyLanesTests {
    final class Trace: Sendable {
        private let entries = Mutex<[String]>([])

        func add(_ entry: String) { entries.withLock { $0.append(entry) } }

        var all: [String] { entries.withLock { $0 } }
    }

    @Test(.timeLimit(.minutes(1))) func runsEachConnectionsWorkInOrder() async throws {
        let lanes = MoneyLanes()
        let trace = Trace()
        let (otherRan, signalOther) = AsyncStream.makeStream(of: Void.self)
        let (done, signalDone) = AsyncStream.makeStream(of: Void.self)
        #expect(lanes.isIdle(1))
        lanes.enqueue(1) {
            trace.add("start 1.0")
            // Finishes only once connection 2's work ran: that lane must not wait for this one.
            for await _ in otherRan { break }
            try? await Task.sleep(for: .milliseconds(20))
            trace.add("end 1.0")
        }
        for index in 1...2 {
            lanes.enqueue(1) {
                trace.add("start 1.\(index)")
                trace.add("end 1.\(index)")
                if index == 2 { signalDone.yield() }
            }
        }
        #expect(!lanes.isIdle(1))
        lanes.enqueue(2) {
            trace.add("other lane")
            signalOther.yield()
        }
        for await _ in done { break }
        #expect(trace.all.filter { $0 != "other lane" }
                == ["start 1.0", "end 1.0", "start 1.1", "end 1.1", "start 1.2", "end 1.2"])
        let other = try #require(trace.all.firstIndex(of: "other lane"))
        #expect(other < (try #require(trace.all.firstIndex(of: "end 1.0"))))
        while !lanes.isIdle(1) || !lanes.isIdle(2) { await Task.yield() }
        #expect(lanes.busyCount == 0)
    }
}
