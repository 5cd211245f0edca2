/// String decoding for ``JSONReader``: the all-ASCII fast path, escapes (including surrogate
/// pairs) and strict UTF-8 validation of raw non-ASCII bytes.
extension JSONReader {
    /// Reads a string whose opening quote is at the read position.
    mutating func readString() throws(JSONParseError) -> String {
        let quote = index
        let start = index + 1
        var i = start
        // Fast path: printable ASCII with no escapes, the usual case for keys and amounts.
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                try checkLength(i - start, stringAt: quote)
                index = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            i += 1
        }
        return try readStringSlowly(quote: quote, resumingAt: i)
    }

    /// Handles escapes and non-ASCII bytes. Raw runs are copied into `decoded` only once an
    /// escape has been seen; until then the input bytes themselves become the string.
    private mutating func readStringSlowly(quote: Int, resumingAt position: Int) throws(JSONParseError) -> String {
        let start = quote + 1
        var i = position
        var decoded: [UInt8] = []
        var escaped = false
        var runStart = start
        while true {
            guard i < bytes.count else { throw JSONParseError(.unexpectedEndOfInput, at: i) }
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "\""):
                index = i + 1
                guard escaped else {
                    try checkLength(i - start, stringAt: quote)
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                }
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                try checkLength(decoded.count, stringAt: quote)
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                if !escaped {
                    escaped = true
                    decoded.reserveCapacity(i - start + 16)
                }
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                i = try readEscape(at: i, into: &decoded)
                runStart = i
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString(byte), at: i)
            case 0x20..<0x80:
                i += 1
            default:
                i = try endOfUTF8Sequence(at: i)
            }
        }
    }

    private func checkLength(_ length: Int, stringAt quote: Int) throws(JSONParseError) {
        guard length <= limits.maxStringBytes else {
            throw JSONParseError(.stringTooLong(limit: limits.maxStringBytes), at: quote)
        }
    }

    /// Decodes the escape whose backslash is at `backslash`, appends its UTF-8 to `out` and
    /// returns the index just past it.
    private func readEscape(at backslash: Int, into out: inout [UInt8]) throws(JSONParseError) -> Int {
        let i = backslash + 1
        guard i < bytes.count else { throw JSONParseError(.unexpectedEndOfInput, at: i) }
        switch bytes[i] {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad(at: i + 1)
            var next = i + 5
            if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONParseError(.loneSurrogate, at: backslash)
            }
            if (0xD800...0xDBFF).contains(scalar) {
                guard next + 1 < bytes.count,
                      bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(.loneSurrogate, at: backslash) }
                let low = try hexQuad(at: next + 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(.loneSurrogate, at: backslash)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                next += 6
            }
            Self.appendUTF8(of: scalar, to: &out)
            return next
        case let other:
            throw JSONParseError(.invalidEscape(other), at: i)
        }
        return i + 1
    }

    /// The value of the four hexadecimal digits starting at `start`.
    private func hexQuad(at start: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for i in start..<start + 4 {
            guard i < bytes.count else { throw JSONParseError(.unexpectedEndOfInput, at: i) }
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidUnicodeEscape, at: i)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Validates the multi-byte UTF-8 sequence whose lead byte is at `lead` (Unicode Table 3-7:
    /// no overlong forms, no encoded surrogates, nothing above U+10FFFF) and returns the index
    /// just past it.
    private func endOfUTF8Sequence(at lead: Int) throws(JSONParseError) -> Int {
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        let length: Int
        switch bytes[lead] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw JSONParseError(.invalidUTF8, at: lead)
        }
        guard lead + length <= bytes.count else { throw JSONParseError(.invalidUTF8, at: lead) }
        let second = bytes[lead + 1]
        guard second >= low && second <= high else { throw JSONParseError(.invalidUTF8, at: lead) }
        for i in lead + 2 ..< lead + length where bytes[i] & 0xC0 != 0x80 {
            throw JSONParseError(.invalidUTF8, at: lead)
        }
        return lead + length
    }

    private static func appendUTF8(of scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
