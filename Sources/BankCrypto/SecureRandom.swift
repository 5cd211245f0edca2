import COpenSSL

/// Cryptographically secure randomness from OpenSSL's `RAND_bytes` (seeded from the OS).
///
/// A failure to produce random bytes is treated as fatal: there is no safe fallback for salts,
/// session tokens or one-time codes, so the process stops rather than hand out weak values.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        var output = [UInt8](repeating: 0, count: count)
        fill(&output)
        return output
    }

    /// Overwrites every byte of `buffer` with random bytes.
    public static func fill(_ buffer: inout [UInt8]) {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeMutableBufferPointer { pointer in
            RAND_bytes(pointer.baseAddress, Int32(pointer.count))
        }
        precondition(status == 1, "RAND_bytes failed: the CSPRNG is unavailable")
    }

    /// A random 64-bit value.
    public static func uint64() -> UInt64 {
        var value: UInt64 = 0
        let status = withUnsafeMutableBytes(of: &value) { raw in
            RAND_bytes(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(raw.count))
        }
        precondition(status == 1, "RAND_bytes failed: the CSPRNG is unavailable")
        return value
    }

    /// A uniformly distributed value in `0..<upperBound`, without modulo bias.
    ///
    /// Draws 32-bit values and rejects the few at the bottom of the range that would make
    /// `value % upperBound` favour small results (at most one draw in two is rejected, and for
    /// small bounds almost none are).
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        precondition(upperBound > 0, "upper bound must be positive")
        // 2^32 mod upperBound: values below this are the biased remainder.
        let threshold = (0 &- upperBound) % upperBound
        while true {
            let candidate = UInt32(truncatingIfNeeded: uint64())
            if candidate >= threshold {
                return candidate % upperBound
            }
        }
    }

    /// A string of `digits` random decimal digits, leading zeros kept (`"004217"`), suitable for
    /// one-time codes sent to a user. Each digit is drawn independently and uniformly.
    public static func numericCode(digits: Int = 6) -> String {
        precondition(digits > 0, "a code needs at least one digit")
        let scalars = (0..<digits).map { _ in
            Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(uniform(10))))
        }
        return String(scalars)
    }
}

/// A `RandomNumberGenerator` backed by ``SecureRandom``, for the standard library's
/// `random(in:using:)` and `shuffled(using:)` when the result must be unpredictable.
public struct SecureRandomNumberGenerator: RandomNumberGenerator, Sendable {
    public init() {}

    public mutating func next() -> UInt64 {
        SecureRandom.uint64()
    }
}
