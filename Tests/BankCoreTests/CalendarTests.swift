import BankCore
import Testing

/// Calendar months (statements) and recurrences (standing orders): pure date arithmetic in UTC.
@Suite struct CalendarTests {
    static func time(_ text: String) -> Timestamp { Timestamp.parse(rfc3339: text)! }

    /// A month runs from its first millisecond to the next month's first; leap Februaries have 29 days.
    @Test func monthsHaveTheirBoundsAndLengths() throws {
        let february = try #require(CalendarMonth.parse("2028-02"))
        #expect(february.start == Self.time("2028-02-01T00:00:00Z"))
        #expect(february.end == Self.time("2028-03-01T00:00:00Z"))
        #expect(february.dayCount == 29)
        #expect(CalendarMonth.parse("2026-02")?.dayCount == 28)
        #expect(CalendarMonth.parse("2026-12")?.next == CalendarMonth.parse("2027-01"))
        #expect(CalendarMonth.parse("2027-01")?.previous == CalendarMonth.parse("2026-12"))
        #expect(CalendarMonth.parse("1970-01")?.previous == nil)
        #expect(CalendarMonth(containing: Self.time("2026-11-30T23:59:59.999Z")).description == "2026-11")
        #expect(CalendarMonth(containing: Self.time("2026-12-01T00:00:00Z")).description == "2026-12")
        #expect(CalendarMonth(containing: Self.time("2026-12-01T00:30:00+01:00")).description == "2026-11")
    }

    /// Only `YYYY-MM` with a real month from 1970 on parses.
    @Test func monthParsingRejectsAnythingElse() {
        for bad in ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01", " 2026-11", "1969-12", "２０２６-11", ""] {
            #expect(CalendarMonth.parse(bad) == nil, "\(bad)")
        }
        #expect(CalendarMonth.parse("2026-09")?.description == "2026-09")
    }

    /// A monthly series keeps its day of month, clamped to shorter months, without drifting afterwards.
    @Test func monthlyOccurrencesClampToTheMonthsLength() {
        let start = Self.time("2027-01-31T09:30:00Z")
        let dues = (0..<5).map { Recurrence.month.occurrence(Int64($0), from: start).rfc3339 }
        #expect(dues == ["2027-01-31T09:30:00.000Z", "2027-02-28T09:30:00.000Z", "2027-03-31T09:30:00.000Z",
                         "2027-04-30T09:30:00.000Z", "2027-05-31T09:30:00.000Z"])
        let leap = Recurrence.month.occurrence(1, from: Self.time("2028-01-30T00:00:00Z"))
        #expect(leap == Self.time("2028-02-29T00:00:00Z"))
        #expect(Recurrence.month.occurrence(12, from: start) == Self.time("2028-01-31T09:30:00Z"))
    }

    /// Daily and weekly series step by whole UTC days from the start.
    @Test func dailyAndWeeklyOccurrencesStepByDays() {
        let start = Self.time("2026-12-31T23:00:00.250Z")
        #expect(Recurrence.day.occurrence(0, from: start) == start)
        #expect(Recurrence.day.occurrence(1, from: start) == Self.time("2027-01-01T23:00:00.250Z"))
        #expect(Recurrence.week.occurrence(2, from: start) == Self.time("2027-01-14T23:00:00.250Z"))
    }
}
