import Foundation

/// A small fast PRNG (SplitMix64) so drawing accounts costs nanoseconds, not a system call.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Draws indexes 0..<count, uniformly or Zipf-skewed (index 0 the hottest) with exponent `skew`.
struct AccountPicker: Sendable {
    private let cumulative: [Double]
    let count: Int

    /// `skew` 0 is uniform; 1 is classic Zipf (the hottest of 1,000 accounts gets ~13% of the draws).
    init(count: Int, skew: Double) {
        precondition(count > 0 && skew >= 0, "need accounts and a non-negative skew")
        self.count = count
        guard skew > 0 else {
            cumulative = []
            return
        }
        var weights = (1...count).map { 1 / pow(Double($0), skew) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for index in weights.indices {
            running += weights[index] / total
            weights[index] = running
        }
        cumulative = weights
    }

    func pick(_ random: inout SplitMix64) -> Int {
        guard !cumulative.isEmpty else { return Int(random.next() % UInt64(count)) }
        let target = Double(random.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
