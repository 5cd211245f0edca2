import BankCore
import Testing

struct SecurityWindowTests {
    /// Failures count within the window only, and each key is counted apart.
    @Test func countsEventsInsideTheWindow() {
        var window = FailureWindow<String>(windowMilliseconds: 1_000, eventsMax: 10)
        #expect(window.record("alice", now: 0) == 1)
        #expect(window.record("alice", now: 500) == 2)
        #expect(window.record("bob", now: 500) == 1)
        #expect(window.record("alice", now: 1_200) == 2)
        #expect(window.count("alice", now: 2_600) == 0)
        window.reset("bob")
        #expect(window.count("bob", now: 600) == 0)
    }

    /// The wait until a key is below a limit again is set by the oldest event that must leave the window.
    @Test func tellsHowLongUntilBelowALimit() {
        var window = FailureWindow<String>(windowMilliseconds: 1_000, eventsMax: 10)
        #expect(window.millisecondsUntil(below: 2, "alice", now: 0) == 0)
        for time: Int64 in [0, 100, 300] { _ = window.record("alice", now: time) }
        #expect(window.millisecondsUntil(below: 4, "alice", now: 400) == 0)
        #expect(window.millisecondsUntil(below: 3, "alice", now: 400) == 600)
        #expect(window.millisecondsUntil(below: 2, "alice", now: 400) == 700)
        #expect(window.millisecondsUntil(below: 3, "alice", now: 1_050) == 0)
    }


    /// Another counter's times replace a key's own only when more of them fall inside the window.
    @Test func adoptsALargerCountFromElsewhere() {
        var window = FailureWindow<String>(windowMilliseconds: 1_000, eventsMax: 3)
        _ = window.record("addr", now: 500)
        #expect(window.adopt("addr", times: [100], now: 600) == 1, "not more: its own stay")
        #expect(window.adopt("addr", times: [550, -900, 300, 500], now: 600) == 3, "the expired one is left out")
        #expect(window.millisecondsUntil(below: 3, "addr", now: 600) == 700, "the oldest adopted time leaves first")
        #expect(window.adopt("other", times: [1, 2, 3, 4, 5], now: 10) == 3, "at most eventsMax are kept")
    }
    /// A key keeps at most eventsMax times, and at most keysMax keys are tracked.
    @Test func staysBounded() {
        var window = FailureWindow<Int>(windowMilliseconds: 60_000, eventsMax: 3, keysMax: 4)
        for time in 0..<10 { _ = window.record(1, now: Int64(time)) }
        #expect(window.count(1, now: 10) == 3)
        for key in 2...10 { _ = window.record(key, now: 20) }
        #expect((2...10).filter { window.count($0, now: 21) > 0 }.count <= 4)
    }

    /// A bucket lets a burst through, then refuses with the seconds to wait, then refills.
    @Test func tokenBucketRefusesPastTheBurstAndRefills() {
        let limit = TokenBucket.Limit(ratePerSecond: 2, capacity: 3)
        var bucket = TokenBucket(limit: limit, now: 0)
        #expect((0..<3).allSatisfy { _ in bucket.take(limit, now: 0) == nil })
        #expect(bucket.take(limit, now: 0) == 1)
        #expect(bucket.take(limit, now: 600) == nil)
        var limiter = RateLimiter<String>(limit: limit, keysMax: 2)
        #expect(limiter.take("a", now: 0) == nil)
        for key in ["b", "c", "d"] { _ = limiter.take(key, now: 0) }
        #expect(limiter.count <= 2)
    }
}
