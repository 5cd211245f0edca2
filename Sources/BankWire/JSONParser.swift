/// A strict RFC 8259 JSON parser working directly on bytes.
///
/// Refuses everything the RFC does not allow: trailing commas, comments, leading zeros,
/// `NaN`/`Infinity`, single quotes, raw control characters in strings, unknown escapes, lone
/// surrogates (escaped or encoded), ill-formed UTF-8 and anything after the top-level value
/// other than whitespace. Numbers are validated but kept as their lexeme. Any top-level value is
/// accepted; checking that a frame is an object is the protocol layer's job.
///
/// Nothing here touches Foundation; each entry point ends up scanning one contiguous buffer.
public struct JSONParser {
    /// Parses one JSON document from `bytes`.
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits = .default
    ) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(bytes: bytes, limits: limits)
        return try reader.readDocument()
    }

    /// Parses one JSON document from raw memory, such as a WebSocket frame payload.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default
    ) throws(JSONParseError) -> JSONValue {
        try parse(bytes.assumingMemoryBound(to: UInt8.self), limits: limits)
    }

    /// Parses one JSON document from any byte collection (`[UInt8]`, `ArraySlice<UInt8>`,
    /// `String.UTF8View`, ...). Contiguous collections are read in place; others are copied once.
    public static func parse(
        _ bytes: some Collection<UInt8>, limits: JSONLimits = .default
    ) throws(JSONParseError) -> JSONValue {
        let inPlace = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, limits: limits) }
        }
        if let inPlace { return try inPlace.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, limits: limits) }
        }.get()
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    public static func parse(
        _ text: String, limits: JSONLimits = .default
    ) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(buffer, limits: limits) }
        }.get()
    }
}

/// The recursive-descent reader behind ``JSONParser``: one pass over a byte buffer, tracking
/// the read position and the current nesting depth. String decoding lives in
/// `JSONReader+Strings.swift`.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: JSONLimits
    var index = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func readDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try readValue()
        skipWhitespace()
        if index < bytes.count { throw JSONParseError(.trailingData, at: index) }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The byte at the read position, or an end-of-input error.
    @inline(__always)
    func current() throws(JSONParseError) -> UInt8 {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEndOfInput, at: index) }
        return bytes[index]
    }

    mutating func readValue() throws(JSONParseError) -> JSONValue {
        switch try current() {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try readLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        case let byte: throw JSONParseError(.unexpectedCharacter(byte), at: index)
        }
    }

    private mutating func readLiteral(_ word: StaticString) throws(JSONParseError) {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for byte in expected {
            let actual = try current()
            guard actual == byte else { throw JSONParseError(.unexpectedCharacter(actual), at: index) }
            index += 1
        }
    }

    private mutating func readNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let end = try JSONNumberLexeme.scan(bytes, from: start).get()
        guard end - start <= limits.maxNumberBytes else {
            throw JSONParseError(.numberTooLong(limit: limits.maxNumberBytes), at: start)
        }
        index = end
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
    }

    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        guard depth <= limits.maxDepth else {
            throw JSONParseError(.depthLimitExceeded(limit: limits.maxDepth), at: index)
        }
        index += 1
        skipWhitespace()
    }

    /// After a `,`: skips whitespace and refuses a closing bracket straight away.
    private mutating func afterComma(closing: UInt8) throws(JSONParseError) {
        let comma = index
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == closing {
            throw JSONParseError(.trailingComma, at: comma)
        }
    }

    private mutating func readArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        var elements: [JSONValue] = []
        if try current() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try readValue())
            skipWhitespace()
            switch try current() {
            case UInt8(ascii: ","):
                try afterComma(closing: UInt8(ascii: "]"))
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(elements)
            case let byte:
                throw JSONParseError(.unexpectedCharacter(byte), at: index)
            }
        }
    }

    private mutating func readObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        var members: [JSONObject.Member] = []
        if try current() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(JSONObject(members))
        }
        while true {
            let byte = try current()
            guard byte == UInt8(ascii: "\"") else {
                throw JSONParseError(.unexpectedCharacter(byte), at: index)
            }
            let key = try readString()
            skipWhitespace()
            let colon = try current()
            guard colon == UInt8(ascii: ":") else {
                throw JSONParseError(.unexpectedCharacter(colon), at: index)
            }
            index += 1
            skipWhitespace()
            members.append((key: key, value: try readValue()))
            skipWhitespace()
            switch try current() {
            case UInt8(ascii: ","):
                try afterComma(closing: UInt8(ascii: "}"))
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(JSONObject(members))
            case let other:
                throw JSONParseError(.unexpectedCharacter(other), at: index)
            }
        }
    }
}
