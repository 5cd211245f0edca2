@testable import BankHub
import BankStorage
import BankStore
import Synchronization
import Testing

/// The per-stream delivery state of the bus fan-out, driven directly with an in-memory filler (no bus, no
/// database): what it hands to the local fan-out, and what it asks of the store.
struct BusFollowedStreamsTests {
    /// Events that arrive while the first subscription catches up wait; when it ends at seq 4 they follow it,
    /// those at or below 4 dropped, a missing one read from the store, all in seq order.
    @Test func eventsHeldDuringTheFirstCatchUpFollowItInOrder() {
        let store = Store((1...8).map { event($0) })
        var streams = BusFollowedStreams()
        _ = streams.follow(1, "user:1")
        #expect(streams.admit([event(7), event(3), event(5), event(8)], filler: store.filler).isEmpty)
        let handed = streams.start("user:1", caughtUpThrough: 4, filler: store.filler)
        #expect(handed.map(\.seq) == [5, 6, 7, 8])
        #expect(store.asked == [6...6])
    }

    /// A gap wider than `fillEventsMax` is read in rounds of at most that many events, then the message follows.
    @Test func wideGapIsFilledInBoundedRounds() {
        let last = Int64(BusFollowedStreams.fillEventsMax * 2 + 10)
        let store = Store((1...last).map { event($0) })
        var streams = live(at: 0, store)
        let handed = streams.admit([event(last)], filler: store.filler)
        #expect(handed.map(\.seq) == Array(1...last))
        #expect(store.asked.allSatisfy { $0.count <= BusFollowedStreams.fillEventsMax })
        #expect(store.asked.count == 3)
    }

    /// A store that fails delivers nothing past the gap (no event out of order); the next message asks again.
    @Test func failedFillHoldsBackTheMessageUntilALaterFillSucceeds() {
        let store = Store((1...3).map { event($0) })
        var streams = live(at: 0, store)
        store.failing.withLock { $0 = true }
        #expect(streams.admit([event(3)], filler: store.filler).isEmpty)
        #expect(streams.fillFailures == 1)
        store.failing.withLock { $0 = false }
        #expect(streams.admit([event(3)], filler: store.filler).map(\.seq) == [1, 2, 3])
    }

    /// After a reconnect a live stream is read to its end; a duplicate arriving later is dropped.
    @Test func fillAllReadsEveryLiveStreamToItsEnd() {
        let store = Store((1...5).map { event($0) })
        var streams = live(at: 2, store)
        #expect(streams.fillAll(filler: store.filler).map(\.seq) == [3, 4, 5])
        #expect(streams.admit([event(4)], filler: store.filler).isEmpty)
    }

    /// Past `pendingEventsMax` held events are let go, and the stream is read from the store when its catch-up
    /// ends: nothing is lost and nothing held grows without bound.
    @Test func heldEventsPastTheLimitAreReadFromTheStoreInstead() {
        let count = Int64(BusFollowedStreams.pendingEventsMax + 2)
        let store = Store((1...count).map { event($0) })
        var streams = BusFollowedStreams()
        _ = streams.follow(1, "user:1")
        #expect(streams.admit((1...count).map { event($0) }, filler: store.filler).isEmpty)
        #expect(streams.start("user:1", caughtUpThrough: 0, filler: store.filler).map(\.seq) == Array(1...count))
    }

    /// The last event of a stream that the bus never brings (no later event shows the gap): the first head check
    /// that sees the store ahead only notes it (it may still be on its way); the next one, still ahead, reads it.
    @Test func headCheckReadsWhatTheBusHasNotBroughtForAWholePeriod() {
        let store = Store((1...3).map { event($0) })
        var streams = live(at: 2, store)
        #expect(streams.headCheckSlice(tick: 0) == ["user:1"])
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).isEmpty)
        #expect(store.asked.isEmpty)
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).map(\.seq) == [3])
        // Delivered: later checks read nothing more, and the event arriving late over the bus is a duplicate.
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).isEmpty)
        #expect(streams.admit([event(3)], filler: store.filler).isEmpty)
        #expect(store.asked == [3...Int64(2 + BusFollowedStreams.fillEventsMax)])
    }

    /// An event in flight at one check that the bus brings before the next costs no read; a stream still
    /// catching up is not checked (its catch-up reads the store anyway).
    @Test func headCheckLeavesStreamsTheBusKeepsUpWith() {
        let store = Store((1...3).map { event($0) })
        var streams = live(at: 2, store)
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).isEmpty)
        #expect(streams.admit([event(3)], filler: store.filler).map(\.seq) == [3])
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).isEmpty)
        _ = streams.follow(2, "user:2")
        #expect(streams.headCheckSlice(tick: 0) == ["user:1"])
        #expect(store.asked.isEmpty)
    }

    /// Past the slice size, each check reads one slice of the live streams in turn: every live stream once per
    /// round of checks, none twice, no slice larger than the limit; a stream still catching up is in none.
    @Test func headChecksReadTheLiveStreamsInBoundedSlicesInTurn() {
        let store = Store([])
        var streams = BusFollowedStreams()
        for n in 1...9 {
            _ = streams.follow(UInt64(n), "user:\(n)")
            if n != 5 { _ = streams.start("user:\(n)", caughtUpThrough: 0, filler: store.filler) }
        }
        let live = Set((1...9).filter { $0 != 5 }.map { "user:\($0)" })
        #expect(Set(streams.headCheckSlice(tick: 7, max: 9)) == live)
        let round = (0..<3).map { streams.headCheckSlice(tick: $0, max: 4) }
        #expect(round.allSatisfy { $0.count <= 4 })
        #expect(round.flatMap { $0 }.count == live.count)
        #expect(Set(round.flatMap { $0 }) == live)
        #expect(streams.headCheckSlice(tick: 3, max: 4) == round[0])
    }

    /// A head check whose read fails delivers nothing and tries again at the next check.
    @Test func headCheckRetriesAFailedRead() {
        let store = Store((1...3).map { event($0) })
        var streams = live(at: 2, store)
        _ = streams.checkHeads(["user:1": 3], filler: store.filler)
        store.failing.withLock { $0 = true }
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).isEmpty)
        store.failing.withLock { $0 = false }
        #expect(streams.checkHeads(["user:1": 3], filler: store.filler).map(\.seq) == [3])
    }

    /// The last follower leaving forgets the stream; a stream nobody follows takes nothing.
    @Test func unfollowedStreamTakesNothing() {
        let store = Store([event(1)])
        var streams = live(at: 0, store)
        _ = streams.unfollow(1, "user:1")
        #expect(streams.streams.isEmpty)
        #expect(streams.admit([event(1)], filler: store.filler).isEmpty)
    }

    private func live(at seq: Int64, _ store: Store) -> BusFollowedStreams {
        var streams = BusFollowedStreams()
        _ = streams.follow(1, "user:1")
        _ = streams.start("user:1", caughtUpThrough: seq, filler: store.filler)
        return streams
    }

    /// Events of `user:1` in memory; records each range asked for.
    final class Store: Sendable {
        let events: [StoredEvent]
        let failing = Mutex(false)
        private let ranges = Mutex<[ClosedRange<Int64>]>([])

        init(_ events: [StoredEvent]) { self.events = events }

        var asked: [ClosedRange<Int64>] { ranges.withLock { $0 } }

        var filler: EventGapFiller {
            { [self] _, from, to in
                ranges.withLock { $0.append(from...to) }
                if failing.withLock({ $0 }) { throw StoreDown() }
                return events.filter { (from...to).contains($0.seq) }
            }
        }
    }

    struct StoreDown: Error {}
}

private func event(_ seq: Int64) -> StoredEvent {
    StoredEvent(stream: "user:1", seq: seq, kind: "notice", data: "{}", at: seq)
}
