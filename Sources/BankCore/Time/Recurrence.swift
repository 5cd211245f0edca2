/// How often a standing order pays, and when its payment number `index` (0 for the first) is due.
///
/// Every due time is computed from the order's `start`, never from the previous due time, so a clamped
/// month does not drift: a series starting on 31 January is due on 28 (or 29) February, 31 March, 30 April,
/// 31 May… at the start's time of day (UTC, which has no daylight-saving shifts).
public enum Recurrence: String, Sendable, CaseIterable {
    case day, week, month

    /// The due time of payment `index` (0-based) of a series starting at `start`.
    public func occurrence(_ index: Int64, from start: Timestamp) -> Timestamp {
        precondition(index >= 0 && index <= Self.indexMax, "payment index \(index) out of range")
        let day = CalendarMonth.millisecondsPerDay
        switch self {
        case .day: return Timestamp(milliseconds: start.milliseconds + index * day)
        case .week: return Timestamp(milliseconds: start.milliseconds + index * 7 * day)
        case .month:
            var days = start.milliseconds / day
            var timeOfDay = start.milliseconds % day
            if timeOfDay < 0 { timeOfDay += day; days -= 1 }
            let (year, month, dayOfMonth) = CivilCalendar.civil(fromDays: days)
            let monthNumber = year * 12 + (month - 1) + index
            let targetYear = monthNumber / 12, targetMonth = monthNumber % 12 + 1
            let targetDay = min(dayOfMonth, CivilCalendar.daysIn(month: targetMonth, year: targetYear))
            let targetDays = CivilCalendar.days(year: targetYear, month: targetMonth, day: targetDay)
            return Timestamp(milliseconds: targetDays * day + timeOfDay)
        }
    }

    /// The largest index `occurrence` accepts: a daily series over 100 years, far beyond any order's life.
    public static let indexMax: Int64 = 36_600
}
