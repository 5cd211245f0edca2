/// An independent recogniser of the JSON that `JSONParser` documents it accepts (RFC 8259, UTF-8, no lone
/// surrogate escapes), used by the `json` target as an oracle: it builds no values, shares no code with the
/// parser, and reports the sizes the parser's limits are about, so both "accepts only JSON" and "accepts all
/// JSON within the limits" are checked.
struct JSONGrammar {
    /// What a document holds at most, measured as `JSONLimits` counts it.
    struct Extent: Equatable {
        var depth = 0
        var stringBytes = 0
        var numberBytes = 0
    }

    /// Deeper nesting than this is not judged (the recogniser recurses); the parser's own limit is far lower.
    static let depthJudgedMax = 64

    private let bytes: [UInt8]
    private var index = 0
    private var extent = Extent()

    /// The extent of `input` when it is a JSON document, `nil` when it is not or nests deeper than
    /// `depthJudgedMax` (`tooDeep` then says which).
    static func recognise(_ input: UnsafeBufferPointer<UInt8>) -> (extent: Extent?, tooDeep: Bool) {
        guard String(validating: input, as: UTF8.self) != nil else { return (nil, false) }
        var grammar = JSONGrammar(bytes: Array(input))
        do {
            grammar.whitespace()
            try grammar.value(depth: 0)
            grammar.whitespace()
            guard grammar.index == grammar.bytes.count else { return (nil, false) }
            return (grammar.extent, false)
        } catch {
            return (nil, error == .tooDeep)
        }
    }

    private enum Refusal: Error { case invalid, tooDeep }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard next == byte else { return false }
        index += 1
        return true
    }

    private mutating func whitespace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func value(depth: Int) throws(Refusal) {
        guard let byte = next else { throw .invalid }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.depthJudgedMax else { throw .tooDeep }
            extent.depth = max(extent.depth, depth + 1)
            try container(closing: byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"), depth: depth + 1)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try word("true")
        case UInt8(ascii: "f"): try word("false")
        case UInt8(ascii: "n"): try word("null")
        default: try number()
        }
    }

    private mutating func container(closing: UInt8, depth: Int) throws(Refusal) {
        index += 1
        whitespace()
        if take(closing) { return }
        repeat {
            whitespace()
            if closing == UInt8(ascii: "}") {
                guard next == UInt8(ascii: "\"") else { throw .invalid }
                try string()
                whitespace()
                guard take(UInt8(ascii: ":")) else { throw .invalid }
                whitespace()
            }
            try value(depth: depth)
            whitespace()
        } while take(UInt8(ascii: ","))
        guard take(closing) else { throw .invalid }
    }

    private mutating func word(_ text: String) throws(Refusal) {
        for byte in text.utf8 { guard take(byte) else { throw .invalid } }
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func number() throws(Refusal) {
        let start = index
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            // A zero integer part stands alone: `01` is two tokens, and the caller then refuses the second.
        } else if digits() == 0 {
            throw .invalid
        }
        if take(UInt8(ascii: ".")), digits() == 0 { throw .invalid }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            _ = take(UInt8(ascii: "+")) || take(UInt8(ascii: "-"))
            guard digits() > 0 else { throw .invalid }
        }
        extent.numberBytes = max(extent.numberBytes, index - start)
    }

    private mutating func string() throws(Refusal) {
        index += 1
        var length = 0
        while true {
            guard let byte = next else { throw .invalid }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                extent.stringBytes = max(extent.stringBytes, length)
                return
            case UInt8(ascii: "\\"):
                length += try escape()
            case 0..<0x20:
                throw .invalid
            default:
                length += 1
            }
        }
    }

    /// The UTF-8 length of the escape after a backslash.
    private mutating func escape() throws(Refusal) -> Int {
        guard let byte = next else { throw .invalid }
        index += 1
        guard byte == UInt8(ascii: "u") else {
            guard "\"\\/bfnrt".utf8.contains(byte) else { throw .invalid }
            return 1
        }
        let unit = try hex4()
        switch unit {
        case 0..<0x80: return 1
        case 0x80..<0x800: return 2
        case 0xDC00...0xDFFF: throw .invalid
        case 0xD800...0xDBFF:
            guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), (0xDC00...0xDFFF).contains(try hex4()) else {
                throw .invalid
            }
            return 4
        default: return 3
        }
    }

    private mutating func hex4() throws(Refusal) -> Int {
        var value = 0
        for _ in 0..<4 {
            guard let byte = next, let digit = Int(String(UnicodeScalar(byte)), radix: 16) else { throw .invalid }
            index += 1
            value = value * 16 + digit
        }
        return value
    }
}
