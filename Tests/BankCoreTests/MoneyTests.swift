import BankCore
import Testing

struct MoneyTests {
    /// Amounts with zero, one or two decimals parse to exact cents.
    @Test(arguments: [("25", 2_500), ("25.5", 2_550), ("25.50", 2_550), ("0.01", 1), ("1000000000.00", 100_000_000_000),
                      ("7.07", 707), ("10", 1_000)] as [(String, Int64)])
    func parsesDecimalStrings(text: String, cents: Int64) throws {
        #expect(try Money.parseAmount(text).cents == cents)
    }

    /// Anything but a plain positive decimal with at most two decimals is `invalid_amount`, naming the field.
    @Test(arguments: ["", "0", "0.00", "-1", "+1", "1.", ".5", "1.234", "01", "00.5", "1e3", " 1", "1 ", "1,00",
                      "NaN", "Infinity", "1000000000.01", "99999999999999999", "１２", "0x10", "1.2.3"])
    func rejectsMalformedOrOutOfRangeAmounts(text: String) {
        #expect(throws: BankError.self) { try Money.parseAmount(text) }
        do {
            _ = try Money.parseAmount(text, field: "amount")
        } catch {
            #expect(error.code == .invalidAmount)
            #expect(error.field == "amount")
        }
    }

    /// Output always carries two decimals and a sign only when negative.
    @Test(arguments: [(0, "0.00"), (1, "0.01"), (10, "0.10"), (2_550, "25.50"), (-300, "-3.00"), (-5, "-0.05"),
                      (100_000_000_000, "1000000000.00")] as [(Int64, String)])
    func formatsWithTwoDecimals(cents: Int64, text: String) {
        #expect(Money(cents: cents).description == text)
    }

    /// Every valid amount survives a format/parse round trip unchanged.
    @Test func roundTripsThroughTheWireForm() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<5_000 {
            let cents = Int64(random.next() % UInt64(Money.amountMax.cents)) + 1
            #expect(try Money.parseAmount(Money(cents: cents).description).cents == cents)
        }
    }
}

struct TimestampTests {
    /// RFC 3339 output is UTC with milliseconds, and parsing it gives back the same instant.
    @Test func formatsAndParsesRFC3339() {
        let time = Timestamp(milliseconds: 1_795_611_660_123)
        #expect(time.rfc3339 == "2026-11-25T13:01:00.123Z")
        #expect(Timestamp.parse(rfc3339: time.rfc3339) == time)
        #expect(Timestamp(milliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
    }

    /// Offsets are applied and extra fraction digits are truncated to the millisecond.
    @Test func appliesOffsetsAndTruncatesFractions() {
        #expect(Timestamp.parse(rfc3339: "2026-11-25T15:01:00.1239+02:00")?.rfc3339 == "2026-11-25T13:01:00.123Z")
        #expect(Timestamp.parse(rfc3339: "2024-02-29T00:00:00Z") != nil)
    }

    /// Impossible dates and malformed text are refused.
    @Test(arguments: ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-25", "2026-11-25T25:00:00Z",
                      "2026-11-25T10:00:00", "yesterday", "2026-11-25T10:00:00.Z"])
    func rejectsInvalidTimes(text: String) {
        #expect(Timestamp.parse(rfc3339: text) == nil)
    }

    /// A time whose UTC instant falls outside years 0000–9999 is refused: the hub could not show it back in RFC 3339
    /// (the `timestamp` fuzz target found `9999-12-31T23:59:59.999-00:30` echoed as `10000-01-01T00:29:59.999Z`, and
    /// `0000-01-01T00:00:00+01:00` as `00-1-12-31T23:00:00.000Z`). The first and last such instants are kept.
    @Test func rejectsTimesOutsideFourDigitYears() {
        for text in ["9999-12-31T23:59:59.999-00:30", "9999-12-31T23:30:00-23:59", "0000-01-01T00:00:00+01:00",
                     "0000-01-01T00:59:59.999+01:00"] {
            #expect(Timestamp.parse(rfc3339: text) == nil, "\(text)")
        }
        let first = Timestamp.parse(rfc3339: "0000-01-01T01:00:00+01:00")
        let last = Timestamp.parse(rfc3339: "9999-12-31T23:29:59.999-00:30")
        #expect(first?.milliseconds == Timestamp.wireMillisecondsMin)
        #expect(last?.milliseconds == Timestamp.wireMillisecondsMax)
        #expect(first?.rfc3339 == "0000-01-01T00:00:00.000Z")
        #expect(last?.rfc3339 == "9999-12-31T23:59:59.999Z")
    }

    /// Many random instants round-trip, including before 1970.
    @Test func roundTripsRandomInstants() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<5_000 {
            let millis = Int64(bitPattern: random.next() % 8_000_000_000_000) - 2_000_000_000_000
            let time = Timestamp(milliseconds: millis)
            #expect(Timestamp.parse(rfc3339: time.rfc3339) == time)
        }
    }
}
