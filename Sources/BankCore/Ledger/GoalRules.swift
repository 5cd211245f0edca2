/// What a savings goal may be given when it is created, checked before anything is stored.
public enum GoalRules {
    /// A goal's name: 1 to 64 characters, no control characters.
    public static let nameLengthMax = 64
    /// Target dates from the first to the last of these years are accepted.
    public static let targetDateYears: ClosedRange<Int64> = 2000...2999

    /// Checks a target date: a calendar date `YYYY-MM-DD` that exists (no 2026-02-30), in `targetDateYears`.
    /// Returns it as given; `bad_request` naming `target_date` otherwise.
    public static func targetDate(_ text: String) throws(BankError) -> String {
        let bytes = Array(text.utf8)
        let refusal = BankError.badRequest("target_date must be a date such as \"2027-06-30\" (YYYY-MM-DD)",
                                           field: "target_date")
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]),
              targetDateYears.contains(year), (1...12).contains(month),
              (1...CivilCalendar.daysIn(month: month, year: year)).contains(day) else {
            throw refusal
        }
        return text
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
