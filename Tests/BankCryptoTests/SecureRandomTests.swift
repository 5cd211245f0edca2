import Testing
@testable import BankCrypto

/// The CSPRNG wrappers: sizes, ranges, formatting and rough uniformity.
struct SecureRandomTests {
    /// `bytes(_:)` returns exactly the requested count, and successive draws differ.
    @Test func returnsRequestedByteCountAndFreshValues() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(33).count == 33)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    /// `uniform(_:)` stays below its bound, including the degenerate bound 1 and the largest.
    @Test func uniformStaysBelowUpperBound() {
        for bound: UInt32 in [1, 2, 3, 10, 1_000_000, 0x8000_0001, .max] {
            for _ in 0..<200 {
                #expect(SecureRandom.uniform(bound) < bound)
            }
        }
    }

    /// Over many draws from 0..<6 every face turns up near its expected share.
    @Test func uniformCoversRangeEvenly() {
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[Int(SecureRandom.uniform(6))] += 1 }
        // Expected 10 000 each; ±600 is more than 6 standard deviations.
        #expect(counts.allSatisfy { (9_400...10_600).contains($0) }, "\(counts)")
    }

    /// Numeric codes have exactly the requested digits, zero padding included.
    @Test func numericCodeHasExactDigitCount() {
        var sawLeadingZero = false
        for _ in 0..<500 {
            let code = SecureRandom.numericCode(digits: 6)
            #expect(code.count == 6)
            #expect(code.allSatisfy { $0.isASCII && $0.isNumber })
            if code.first == "0" { sawLeadingZero = true }
        }
        #expect(sawLeadingZero, "about 50 of 500 codes should start with 0")
        #expect(SecureRandom.numericCode(digits: 12).count == 12)
    }

    /// The generator adapter plugs into the standard library's random APIs.
    @Test func generatorWorksWithStandardLibrary() {
        var generator = SecureRandomNumberGenerator()
        let value = Int.random(in: 10...20, using: &generator)
        #expect((10...20).contains(value))
    }
}
