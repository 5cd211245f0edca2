import BankCore

/// Fuzz target `timestamp`: RFC 3339 times as `balance_at`, `transactions` and `order_create` take them
/// (`Timestamp.parse`) and as every reply shows them (`Timestamp.rfc3339`); calendar months as `statement` takes
/// them (`CalendarMonth.parse`).
///
/// The input is read twice. As text (when it is well-formed UTF-8, as every wire string is): an accepted time
/// must show as `yyyy-mm-ddThh:mm:ss.sssZ` and that must parse back to the same instant — what the hub echoes
/// is something it would accept; an accepted month must be spelled exactly as it shows (`YYYY-MM`), and span
/// `start..<end` of its day count, with its neighbours' bounds meeting its own. As the first 8 bytes of an Int64
/// count of milliseconds (when there are 8): any instant the parser can produce must format in that shape and
/// parse back unchanged, and lie in the month said to contain it (from 1970; earlier ones clamp to 1970-01).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTimestamp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let text = utf8Text(bytes) {
        if let time = Timestamp.parse(rfc3339: text) { checkShown(time, input: text) }
        if let month = CalendarMonth.parse(text) { checkMonth(month, input: text) }
    }
    if size >= 8 {
        let pattern = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let time = Timestamp(milliseconds: Int64(bitPattern: pattern))
        let parsable = Timestamp.wireMillisecondsMin...Timestamp.wireMillisecondsMax
        if parsable.contains(time.milliseconds) {
            checkShown(time, input: "\(time.milliseconds) ms")
            checkContaining(time)
        }
    }
    return 0
}

private func checkMonth(_ month: CalendarMonth, input: String) {
    require(month.description == input, "\(input.debugDescription) shows as \(month)")
    let day: Int64 = 86_400_000
    require(month.end.milliseconds - month.start.milliseconds == month.dayCount * day, "\(month) spans \(month.start)..<\(month.end)")
    require(month.start.rfc3339.hasPrefix("\(input)-01T00:00:00.000Z"), "\(month) starts at \(month.start)")
    require(CalendarMonth(containing: month.start) == month, "\(month).start is not in \(month)")
    require(CalendarMonth(containing: Timestamp(milliseconds: month.end.milliseconds - 1)) == month, "\(month).end - 1 ms is not in \(month)")
    if let next = month.next { require(next.start == month.end && next > month, "\(month) then \(next)") }
    if let previous = month.previous { require(previous.end == month.start && previous < month, "\(previous) then \(month)") }
}

private func checkContaining(_ time: Timestamp) {
    let month = CalendarMonth(containing: time)
    if time < CalendarMonth(year: 1970, month: 1)!.start {
        require(month == CalendarMonth(year: 1970, month: 1), "\(time) (before 1970) is said to be in \(month)")
    } else {
        require(month.start <= time && time < month.end, "\(time) is said to be in \(month)")
    }
}

private func checkShown(_ time: Timestamp, input: String) {
    let shown = time.rfc3339
    let shape = Array("dddd-dd-ddTdd:dd:dd.dddZ".utf8)
    let matches = shown.utf8.count == shape.count && zip(shown.utf8, shape).allSatisfy { byte, expected in
        expected == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
    }
    require(matches, "\(input.debugDescription) (\(time.milliseconds) ms) shows as \(shown)")
    require(Timestamp.parse(rfc3339: shown) == time, "\(input.debugDescription) shows as \(shown), which reads back otherwise")
}
