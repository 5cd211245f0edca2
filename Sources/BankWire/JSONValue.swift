/// A JSON document as the hub sees it on the wire.
///
/// Numbers are kept as their validated decimal lexeme (for example `"42"` or `"-1.5e3"`) and are
/// never converted to `Double`: money must not pass through binary floating point. Objects keep
/// their members in insertion order (see ``JSONObject``), so writing a value is deterministic.
///
/// Values are cheap to build with literals:
///
///     let reply: JSONValue = ["id": 7, "ok": true, "result": ["balance": "25.50"]]
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The raw number lexeme exactly as RFC 8259 spells it. ``JSONParser`` only ever produces
    /// valid lexemes; when building one by hand prefer ``integer(_:)`` or ``number(lexeme:)``,
    /// because ``JSONWriter`` copies the lexeme verbatim.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

// MARK: - Construction helpers

extension JSONValue {
    /// A number value holding the decimal spelling of `value`.
    public static func integer(_ value: some BinaryInteger) -> JSONValue {
        .number(String(value))
    }

    /// A number value for `lexeme`, or `nil` when `lexeme` is not a valid RFC 8259 number
    /// (leading zeros, a bare `-`, `NaN`, a leading `+` or `.` and the like are refused).
    public static func number(lexeme: String) -> JSONValue? {
        JSONNumberLexeme.isValid(lexeme) ? .number(lexeme) : nil
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The string payload, or `nil` for any other kind of value.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean payload, or `nil` for any other kind of value.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The raw number lexeme, or `nil` for any other kind of value.
    public var numberLexeme: String? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The number as an `Int64`, only when its lexeme is a plain integer (no fraction, no
    /// exponent) that fits; `1.0`, `1e2` and `9223372036854775808` all give `nil`.
    public var int64Value: Int64? {
        guard case .number(let lexeme) = self else { return nil }
        var digits = lexeme.utf8[...]
        if digits.first == UInt8(ascii: "-") { digits = digits.dropFirst() }
        guard !digits.isEmpty,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return Int64(lexeme)
    }

    /// The members of an object, or `nil` for any other kind of value.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The elements of an array, or `nil` for any other kind of value.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// Whether this is the JSON `null` literal.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key` when this is an object (the last one if the key repeats),
    /// otherwise `nil`. Lets lookups chain: `request["params"]?["amount"]?.stringValue`.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .number(String(value)) }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}

// MARK: - Number grammar

/// The RFC 8259 number grammar, shared by the parser, the writer's debug check and
/// ``JSONValue/number(lexeme:)``:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
enum JSONNumberLexeme {
    static func isValid(_ lexeme: String) -> Bool {
        var copy = lexeme
        return copy.withUTF8 { bytes in
            guard case .success(let end) = scan(bytes, from: 0) else { return false }
            return end == bytes.count
        }
    }

    /// Reads the longest valid number starting at `start` and returns the index just past it,
    /// or the problem with the offset where it was found. What follows the number is the
    /// caller's concern (`1x` scans as `1`).
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Result<Int, JSONParseError> {
        var i = start
        let n = bytes.count
        @inline(__always) func isDigit(_ i: Int) -> Bool {
            i < n && bytes[i] &- UInt8(ascii: "0") < 10
        }
        @inline(__always) func missingDigit(_ i: Int) -> Result<Int, JSONParseError> {
            .failure(JSONParseError(i < n ? .invalidNumber : .unexpectedEndOfInput, at: i))
        }
        if i < n && bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return missingDigit(i) }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { return .failure(JSONParseError(.leadingZero, at: i - 1)) }
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < n && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return missingDigit(i) }
            while isDigit(i) { i += 1 }
        }
        if i < n && (bytes[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard isDigit(i) else { return missingDigit(i) }
            while isDigit(i) { i += 1 }
        }
        return .success(i)
    }
}
