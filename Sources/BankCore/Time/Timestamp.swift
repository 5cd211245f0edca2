/// A point in time with millisecond precision, as stored (INTEGER ms since the Unix epoch) and shown on the
/// wire (RFC 3339 UTC with milliseconds: `"2026-11-25T19:01:00.123Z"`). What is shown is exactly what is
/// stored, so `balance_at` with an entry's own `at` includes that entry.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// The first and last instants RFC 3339 can show, 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: an
    /// input time whose UTC instant falls outside them is refused, so every time the hub accepts it can show back.
    public static let wireMillisecondsMin: Int64 = -62_167_219_200_000
    public static let wireMillisecondsMax: Int64 = 253_402_300_799_999

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String { rfc3339 }

    /// `yyyy-mm-ddThh:mm:ss.sssZ` in UTC.
    public var rfc3339: String {
        let millisPerDay: Int64 = 86_400_000
        var days = milliseconds / millisPerDay
        var rest = milliseconds % millisPerDay
        if rest < 0 { rest += millisPerDay; days -= 1 }
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        let hour = rest / 3_600_000, minute = rest / 60_000 % 60, second = rest / 1_000 % 60, milli = rest % 1_000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(milli, 3))Z"
    }

    /// Parses RFC 3339 (`2026-11-25T19:01:00Z`, `...00.5+02:00`, up to nine fraction digits, truncated to ms).
    /// An instant outside `wireMillisecondsMin...wireMillisecondsMax` once in UTC is refused.
    public static func parse(rfc3339 text: String) -> Timestamp? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.expect("-"),
              let month = scanner.number(digits: 2), scanner.expect("-"),
              let day = scanner.number(digits: 2), scanner.expect("T") || scanner.expect("t") || scanner.expect(" "),
              let hour = scanner.number(digits: 2), scanner.expect(":"),
              let minute = scanner.number(digits: 2), scanner.expect(":"),
              let second = scanner.number(digits: 2) else { return nil }
        guard (1...12).contains(month), (1...CivilCalendar.daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var millis: Int64 = 0
        if scanner.expect(".") {
            guard let (value, count) = scanner.fraction(), count <= 9 else { return nil }
            millis = count >= 3 ? value / pow10(count - 3) : value * pow10(3 - count)
        }
        var offsetMinutes: Int64 = 0
        if scanner.expect("Z") || scanner.expect("z") {
            offsetMinutes = 0
        } else {
            let sign: Int64
            if scanner.expect("+") { sign = 1 } else if scanner.expect("-") { sign = -1 } else { return nil }
            guard let offsetHours = scanner.number(digits: 2), scanner.expect(":"),
                  let offsetMins = scanner.number(digits: 2), offsetHours < 24, offsetMins < 60 else { return nil }
            offsetMinutes = sign * (offsetHours * 60 + offsetMins)
        }
        guard scanner.atEnd else { return nil }
        let days = CivilCalendar.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        let milliseconds = seconds * 1_000 + millis
        guard (wireMillisecondsMin...wireMillisecondsMax).contains(milliseconds) else { return nil }
        return Timestamp(milliseconds: milliseconds)
    }

    private static func pow10(_ exponent: Int) -> Int64 {
        var result: Int64 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
enum CivilCalendar {
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

private struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func expect(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    mutating func number(digits: Int) -> Int64? {
        guard index + digits <= bytes.count else { return nil }
        var value: Int64 = 0
        for byte in bytes[index..<(index + digits)] {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        index += digits
        return value
    }

    mutating func fraction() -> (Int64, Int)? {
        var value: Int64 = 0
        var count = 0
        while index < bytes.count, (48...57).contains(bytes[index]) {
            if count < 9 { value = value * 10 + Int64(bytes[index] - 48) }
            count += 1
            index += 1
        }
        return count == 0 ? nil : (value, count)
    }
}
