import BankCore

/// Fuzz target `timestamp`: RFC 3339 times as `balance_at` and `transactions` take them (`Timestamp.parse`)
/// and as every reply shows them (`Timestamp.rfc3339`).
///
/// The input is read twice. As text (when it is well-formed UTF-8, as every wire string is): an accepted time
/// must show as `yyyy-mm-ddThh:mm:ss.sssZ` and that must parse back to the same instant — what the hub echoes
/// is something it would accept. As the first 8 bytes of an Int64 count of milliseconds (when there are 8):
/// any instant the parser can produce must format in that shape and parse back unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTimestamp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let text = utf8Text(bytes), let time = Timestamp.parse(rfc3339: text) {
        checkShown(time, input: text)
    }
    if size >= 8 {
        let pattern = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let milliseconds = Int64(bitPattern: pattern)
        let parsable = Timestamp.parse(rfc3339: "0000-01-01T00:00:00Z")!...Timestamp.parse(rfc3339: "9999-12-31T23:59:59.999Z")!
        let time = Timestamp(milliseconds: milliseconds)
        if parsable.contains(time) { checkShown(time, input: "\(milliseconds) ms") }
    }
    return 0
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
