import BankCore

/// Fuzz target `money`: wire amounts (`Money.parseAmount`) and their formatting (`Money.description`).
///
/// The input is read twice. As text (when it is well-formed UTF-8, as every wire string is), `parseAmount` must
/// agree exactly with an independent reference grammar — `0|[1-9][0-9]*` then optionally `.` and one or two
/// digits, value from 0.01 to `amountMax` — and an accepted amount must survive format → parse unchanged; a
/// refusal is `invalid_amount` naming the field. As the first 8 bytes of an Int64 (when there are 8), any cents
/// value, negative and Int64.min included, must format as `-?digits.dd` that reads back as the same cents.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMoney(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let text = utf8Text(bytes) { checkParse(text) }
    if size >= 8 {
        let pattern = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        checkFormat(Money(cents: Int64(bitPattern: pattern)))
    }
    return 0
}

private func checkParse(_ text: String) {
    let expected = referenceCents(Array(text.utf8))
    do {
        let money = try Money.parseAmount(text, field: "amount")
        require(money.cents == expected, "parsed \(text.debugDescription) as \(money.cents) cents, reference \(String(describing: expected))")
        require((try? Money.parseAmount(money.description)) == money, "\(money) does not round-trip")
    } catch {
        require(expected == nil, "refused \(text.debugDescription), reference \(String(describing: expected)) cents")
        require(error.code == .invalidAmount && error.field == "amount", "refusal \(error.code) \(String(describing: error.field))")
    }
}

/// The reference: cents for a valid input amount, `nil` for anything else. Written independently of
/// `parseAmount`: grammar first, then the value with overflow checks, then the bounds.
private func referenceCents(_ bytes: [UInt8]) -> Int64? {
    let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    let point = bytes.firstIndex(of: UInt8(ascii: "."))
    let whole = bytes[..<(point ?? bytes.count)]
    let fraction = point.map { bytes[($0 + 1)...] } ?? []
    guard !whole.isEmpty, whole.allSatisfy(isDigit), whole.count == 1 || whole.first != UInt8(ascii: "0") else { return nil }
    guard point == nil || (1...2).contains(fraction.count), fraction.allSatisfy(isDigit) else { return nil }
    var cents: Int64 = 0
    for byte in whole + fraction + Array(repeating: UInt8(ascii: "0"), count: 2 - fraction.count) {
        let (times, overflowA) = cents.multipliedReportingOverflow(by: 10)
        let (sum, overflowB) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
        guard !overflowA, !overflowB else { return nil }
        cents = sum
    }
    guard cents >= 1, cents <= Money.amountMax.cents else { return nil }
    return cents
}

private func checkFormat(_ money: Money) {
    let text = money.description
    var body = Array(text.utf8)
    let negative = body.first == UInt8(ascii: "-")
    if negative { body.removeFirst() }
    require(negative == (money.cents < 0), "\(money.cents) formats as \(text)")
    require(body.count >= 4 && body[body.count - 3] == UInt8(ascii: "."), "\(money.cents) formats as \(text)")
    let units = body[..<(body.count - 3)], fraction = body[(body.count - 2)...]
    require((units + fraction).allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }, "\(money.cents) formats as \(text)")
    require(units.count == 1 || units.first != UInt8(ascii: "0"), "\(money.cents) formats with a leading zero: \(text)")
    var magnitude: UInt64 = 0
    for byte in units + fraction { magnitude = magnitude * 10 + UInt64(byte - UInt8(ascii: "0")) }
    require(magnitude == money.cents.magnitude, "\(money.cents) formats as \(text)")
    if money.isPositive && money <= Money.amountMax {
        require((try? Money.parseAmount(text)) == money, "\(text) does not parse back")
    }
}
