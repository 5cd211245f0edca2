import BankCore
@testable import BankWire

/// Builds random but valid ``JSONValue`` trees and random number lexemes.
struct RandomJSON {
    var rng: SplitMix64

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    mutating func value(depth: Int = 0) -> JSONValue {
        let containers = depth < 6
        switch Int.random(in: 0..<(containers ? 8 : 5), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(numberLexeme())
        case 3, 4: return .string(string())
        case 5: return .array((0..<Int.random(in: 0...5, using: &rng)).map { _ in value(depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                // Short keys from a small pool so duplicates turn up.
                object.append(key: Bool.random(using: &rng) ? string() : ["a", "b", "id"].randomElement(using: &rng)!,
                              value: value(depth: depth + 1))
            }
            return .object(object)
        }
    }

    /// A lexeme drawn from the full RFC 8259 number grammar.
    mutating func numberLexeme() -> String {
        var text = Bool.random(using: &rng) ? "-" : ""
        text += Int.random(in: 0..<4, using: &rng) == 0 ? "0" : String(UInt64.random(in: 1...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng) | 1)
        if Bool.random(using: &rng) { text += "." + digits() }
        if Bool.random(using: &rng) {
            text += ["e", "E"].randomElement(using: &rng)! + ["", "+", "-"].randomElement(using: &rng)! + digits()
        }
        return text
    }

    private mutating func digits() -> String {
        String((0..<Int.random(in: 1...6, using: &rng)).map { _ in "0123456789".randomElement(using: &rng)! })
    }

    /// Mostly ASCII, with controls, quotes, backslashes and scalars from every UTF-8 length.
    mutating func string() -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            let raw: UInt32 = switch Int.random(in: 0..<10, using: &rng) {
            case 0: UInt32.random(in: 0..<0x20, using: &rng)
            case 1: [0x22, 0x5C, 0x2F, 0x7F].randomElement(using: &rng)!
            case 2: UInt32.random(in: 0x80..<0x800, using: &rng)
            case 3: UInt32.random(in: 0x800..<0xD800, using: &rng)
            case 4: UInt32.random(in: 0xE000...0xFFFF, using: &rng)
            case 5: UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
            default: UInt32.random(in: 0x20..<0x7F, using: &rng)
            }
            scalars.append(Unicode.Scalar(raw)!)
        }
        return String(scalars)
    }
}
