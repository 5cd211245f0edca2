/// A calendar month in UTC, written `"2026-11"` on the wire and in the database. Statements and the monthly
/// e-mails are cut by it: a month runs from its first millisecond (`start`) up to, not including, the first
/// millisecond of the next (`end`).
public struct CalendarMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int64
    /// 1 (January) to 12 (December).
    public let month: Int64

    /// The years a month may fall in: from the Unix epoch to the last four-digit year.
    public static let years: ClosedRange<Int64> = 1970...9999

    public init?(year: Int64, month: Int64) {
        guard Self.years.contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// The month `time` falls in (UTC). Times before 1970 or after 9999 are clamped to those years' ends.
    public init(containing time: Timestamp) {
        var days = time.milliseconds / Self.millisecondsPerDay
        if time.milliseconds % Self.millisecondsPerDay < 0 { days -= 1 }
        let (year, month, _) = CivilCalendar.civil(fromDays: days)
        if year < Self.years.lowerBound {
            self.year = Self.years.lowerBound
            self.month = 1
        } else if year > Self.years.upperBound {
            self.year = Self.years.upperBound
            self.month = 12
        } else {
            self.year = year
            self.month = month
        }
    }

    /// Parses exactly `YYYY-MM` (four digits, a hyphen, two digits; month 01–12); anything else is nil.
    public static func parse(_ text: String) -> CalendarMonth? {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-") else { return nil }
        let digits = bytes[0..<4] + bytes[5..<7]
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let number = { (slice: ArraySlice<UInt8>) in slice.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) } }
        return CalendarMonth(year: number(bytes[0..<4]), month: number(bytes[5..<7]))
    }

    public static func < (lhs: CalendarMonth, rhs: CalendarMonth) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    /// `YYYY-MM`.
    public var description: String {
        let month = self.month < 10 ? "0\(self.month)" : "\(self.month)"
        return "\(year)-\(month)"
    }

    /// Its first millisecond (00:00:00.000 UTC on the 1st).
    public var start: Timestamp {
        Timestamp(milliseconds: CivilCalendar.days(year: year, month: month, day: 1) * Self.millisecondsPerDay)
    }

    /// The first millisecond after it (the next month's `start`); the month is `start..<end`.
    public var end: Timestamp {
        let days = CivilCalendar.days(year: year, month: month, day: 1) + dayCount
        return Timestamp(milliseconds: days * Self.millisecondsPerDay)
    }

    /// 28 to 31.
    public var dayCount: Int64 { CivilCalendar.daysIn(month: month, year: year) }

    /// The month before, or nil for January 1970.
    public var previous: CalendarMonth? {
        month == 1 ? CalendarMonth(year: year - 1, month: 12) : CalendarMonth(year: year, month: month - 1)
    }

    /// The month after, or nil for December 9999.
    public var next: CalendarMonth? {
        month == 12 ? CalendarMonth(year: year + 1, month: 1) : CalendarMonth(year: year, month: month + 1)
    }

    static let millisecondsPerDay: Int64 = 86_400_000
}
