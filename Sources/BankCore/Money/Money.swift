/// An exact amount of money in minor units (cents). Never floating point.
///
/// Wire form: a decimal string. Output always has two decimals (`"25.50"`, `"-3.00"`); input amounts are
/// parsed by `Money.parseAmount`, which accepts only positive values with at most two decimals.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let cents: Int64

    public init(cents: Int64) {
        self.cents = cents
    }

    public static let zero = Money(cents: 0)
    /// The largest amount one operation may move: 1,000,000,000.00.
    public static let amountMax = Money(cents: 100_000_000_000)
    /// The largest balance an account may hold: 10,000,000,000,000.00. Keeps every sum far from Int64 overflow.
    public static let balanceMax = Money(cents: 1_000_000_000_000_000)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }

    public var isPositive: Bool { cents > 0 }

    public static prefix func - (value: Money) -> Money { Money(cents: -value.cents) }

    /// `"25.50"`, `"-3.00"`, `"0.00"`.
    public var description: String {
        let magnitude = cents.magnitude
        let units = magnitude / 100
        let fraction = magnitude % 100
        let sign = cents < 0 ? "-" : ""
        return "\(sign)\(units).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension Money {
    /// Parses a wire amount: `"25"`, `"25.5"`, `"25.50"`. Refuses signs, exponents, spaces, leading zeros,
    /// more than two decimals, zero, and anything above `amountMax`, with `invalid_amount`.
    public static func parseAmount(_ text: String, field: String = "amount") throws(BankError) -> Money {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 16 else {
            throw invalid(text, field, "must be a decimal string such as \"25.50\"")
        }
        var index = 0
        var units: Int64 = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: ".") {
            guard let digit = digitValue(bytes[index]) else {
                throw invalid(text, field, "must be a decimal string such as \"25.50\"")
            }
            guard !(index == 1 && bytes[0] == UInt8(ascii: "0")) else {
                throw invalid(text, field, "must not have leading zeros")
            }
            units = units * 10 + digit
            index += 1
        }
        guard index > 0 else { throw invalid(text, field, "must start with a digit") }
        var fractionCents: Int64 = 0
        if index < bytes.count {
            let decimals = bytes.count - index - 1
            guard decimals == 1 || decimals == 2 else {
                throw invalid(text, field, "must have one or two decimals after the point")
            }
            for (position, byte) in bytes[(index + 1)...].enumerated() {
                guard let digit = digitValue(byte) else {
                    throw invalid(text, field, "must be a decimal string such as \"25.50\"")
                }
                fractionCents += digit * (position == 0 ? 10 : 1)
            }
        }
        guard units <= amountMax.cents / 100 else {
            throw invalid(text, field, "is above the maximum of \(amountMax)")
        }
        let money = Money(cents: units * 100 + fractionCents)
        guard money.isPositive else { throw invalid(text, field, "must be greater than zero") }
        guard money <= amountMax else { throw invalid(text, field, "is above the maximum of \(amountMax)") }
        return money
    }

    private static func digitValue(_ byte: UInt8) -> Int64? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
    }

    private static func invalid(_ text: String, _ field: String, _ reason: String) -> BankError {
        let shown = text.count > 20 ? String(text.prefix(20)) + "…" : text
        return BankError(.invalidAmount, "\(field) \"\(shown)\" \(reason)", field: field)
    }
}
