/// A token bucket: `capacity` tokens, refilled at `ratePerSecond`; each request takes one. Pure: time is
/// passed in (milliseconds), so tests drive it without clocks.
public struct TokenBucket: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        public let ratePerSecond: Double
        public let capacity: Double

        public init(ratePerSecond: Double, capacity: Double) {
            precondition(ratePerSecond > 0 && capacity >= 1, "a limit lets at least one request through")
            self.ratePerSecond = ratePerSecond
            self.capacity = capacity
        }

        public static func perMinute(_ count: Double, burst: Double) -> Limit {
            Limit(ratePerSecond: count / 60, capacity: burst)
        }
    }

    private var tokens: Double
    private var updatedAtMilliseconds: Int64

    public init(limit: Limit, now: Int64) {
        tokens = limit.capacity
        updatedAtMilliseconds = now
    }

    /// Takes a token if one is there; otherwise returns the whole seconds until one will be (at least 1).
    public mutating func take(_ limit: Limit, now: Int64) -> Int? {
        let elapsed = Double(max(0, now - updatedAtMilliseconds)) / 1_000
        tokens = min(limit.capacity, tokens + elapsed * limit.ratePerSecond)
        updatedAtMilliseconds = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        let seconds = ((1 - tokens) / limit.ratePerSecond).rounded(.up)
        return max(1, Int(seconds))
    }

    /// True when the bucket is full again, so its key can be forgotten.
    public func isFull(_ limit: Limit, now: Int64) -> Bool {
        tokens + Double(max(0, now - updatedAtMilliseconds)) / 1_000 * limit.ratePerSecond >= limit.capacity
    }
}

/// Token buckets by key (connection, user, address), forgetting full buckets so memory stays bounded by the
/// number of keys active in the last few seconds, and at most `keysMax` in any case.
public struct RateLimiter<Key: Hashable & Sendable>: Sendable {
    public let limit: TokenBucket.Limit
    public let keysMax: Int
    private var buckets: [Key: TokenBucket] = [:]
    private var takesSinceSweep = 0

    public init(limit: TokenBucket.Limit, keysMax: Int = 100_000) {
        self.limit = limit
        self.keysMax = keysMax
    }

    /// nil when allowed, else the seconds to wait.
    public mutating func take(_ key: Key, now: Int64) -> Int? {
        takesSinceSweep += 1
        if takesSinceSweep >= 10_000 || buckets.count >= keysMax { sweep(now: now) }
        var bucket = buckets[key] ?? TokenBucket(limit: limit, now: now)
        let wait = bucket.take(limit, now: now)
        buckets[key] = bucket
        return wait
    }

    public mutating func forget(_ key: Key) { buckets[key] = nil }

    public var count: Int { buckets.count }

    private mutating func sweep(now: Int64) {
        takesSinceSweep = 0
        buckets = buckets.filter { !$0.value.isFull(limit, now: now) }
        if buckets.count >= keysMax { buckets.removeAll(keepingCapacity: true) }
    }
}
