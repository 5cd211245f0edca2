/// Counts events per key within a sliding window (e.g. failed logins per user in 15 minutes). Pure: time is
/// passed in. Each key keeps at most `eventsMax` timestamps and at most `keysMax` keys are tracked.
public struct FailureWindow<Key: Hashable & Sendable>: Sendable {
    public let windowMilliseconds: Int64
    public let eventsMax: Int
    public let keysMax: Int
    private var events: [Key: [Int64]] = [:]

    public init(windowMilliseconds: Int64, eventsMax: Int = 64, keysMax: Int = 100_000) {
        precondition(windowMilliseconds > 0 && eventsMax > 0 && keysMax > 0, "window limits must be positive")
        self.windowMilliseconds = windowMilliseconds
        self.eventsMax = eventsMax
        self.keysMax = keysMax
    }

    /// Records one event and returns how many fall inside the window, this one included. The key's times are
    /// changed in place (no copy per call: this runs on every transfer).
    public mutating func record(_ key: Key, now: Int64) -> Int {
        if events.count >= keysMax, events[key] == nil { prune(now: now) }
        return Self.append(now, to: &events[key, default: []], windowMilliseconds: windowMilliseconds, eventsMax: eventsMax)
    }

    private static func append(_ now: Int64, to times: inout [Int64], windowMilliseconds: Int64, eventsMax: Int) -> Int {
        // Times are kept in arrival order, so the expired ones are a prefix: only they are looked at (this ran
        // over all of up to `eventsMax` times on every transfer).
        let expired = times.prefix { now - $0 >= windowMilliseconds }.count
        if expired > 0 { times.removeFirst(expired) }
        times.append(now)
        if times.count > eventsMax { times.removeFirst(times.count - eventsMax) }
        return times.count
    }

    /// How many events of `key` fall inside the window.
    public func count(_ key: Key, now: Int64) -> Int {
        events[key]?.filter { now - $0 < windowMilliseconds }.count ?? 0
    }

    /// Milliseconds until fewer than `limit` events of `key` fall inside the window: 0 when there already are.
    public func millisecondsUntil(below limit: Int, _ key: Key, now: Int64) -> Int64 {
        precondition(limit > 0, "a limit lets at least one event in")
        let times = events[key]?.filter { now - $0 < windowMilliseconds } ?? []
        guard times.count >= limit else { return 0 }
        // The oldest `count - limit + 1` events must leave the window; times are kept in arrival order.
        let wait = times[times.count - limit] + windowMilliseconds - now
        assert(wait > 0, "an event inside the window leaves it later")
        return wait
    }

    /// Takes what another counter saw of `key` (say, the database's count of every hub's events): when `times`
    /// (in any order) hold more events inside the window than this window does, they replace its own (this
    /// window's are among them when both count the same events). Returns the count inside the window after.
    public mutating func adopt(_ key: Key, times: [Int64], now: Int64) -> Int {
        let inside = times.filter { now - $0 < windowMilliseconds }.sorted().suffix(eventsMax)
        guard inside.count > count(key, now: now) else { return count(key, now: now) }
        if events.count >= keysMax, events[key] == nil { prune(now: now) }
        events[key] = Array(inside)
        return inside.count
    }

    public mutating func reset(_ key: Key) { events[key] = nil }

    private mutating func prune(now: Int64) {
        events = events.filter { $0.value.contains { now - $0 < windowMilliseconds } }
        if events.count >= keysMax { events.removeAll(keepingCapacity: true) }
    }
}
