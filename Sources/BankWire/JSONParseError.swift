/// Why ``JSONParser`` refused an input, and where.
///
/// Building one allocates nothing; the human-readable ``message`` (for example
/// `unexpected character 'x' at byte 12`) is only formatted when asked for, so refusing a flood
/// of garbage frames stays cheap.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of problem.
    public enum Kind: Sendable, Equatable {
        /// The input ended in the middle of a value (or was empty).
        case unexpectedEndOfInput
        /// A byte that cannot start or continue the value being read.
        case unexpectedCharacter(UInt8)
        /// A `,` directly followed by `]` or `}`.
        case trailingComma
        /// An integer part such as `01` or `-007`.
        case leadingZero
        /// A malformed number such as `-`, `1.` or `1e+`.
        case invalidNumber
        /// A raw byte below 0x20 inside a string; it must be escaped.
        case controlCharacterInString(UInt8)
        /// A backslash followed by something other than `" \ / b f n r t u`.
        case invalidEscape(UInt8)
        /// `\u` not followed by four hexadecimal digits.
        case invalidUnicodeEscape
        /// A `\uD800`–`\uDFFF` escape that is not part of a high/low surrogate pair.
        case loneSurrogate
        /// Bytes that are not well-formed UTF-8 (overlong forms, encoded surrogates, values
        /// above U+10FFFF, truncated or stray continuation bytes).
        case invalidUTF8
        /// Arrays and objects nested deeper than ``JSONLimits/maxDepth``.
        case depthLimitExceeded(limit: Int)
        /// A string or key longer than ``JSONLimits/maxStringBytes`` once decoded.
        case stringTooLong(limit: Int)
        /// A number lexeme longer than ``JSONLimits/maxNumberBytes``.
        case numberTooLong(limit: Int)
        /// Something other than whitespace after the top-level value.
        case trailingData
    }

    public let kind: Kind
    /// Zero-based byte offset into the input where the problem was found.
    public let offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// A short human-readable explanation, e.g. `unexpected character 'x' at byte 12`.
    public var message: String {
        "\(reason) at byte \(offset)"
    }

    public var description: String { message }

    private var reason: String {
        switch kind {
        case .unexpectedEndOfInput: "unexpected end of input"
        case .unexpectedCharacter(let byte): "unexpected character \(Self.show(byte))"
        case .trailingComma: "trailing comma"
        case .leadingZero: "leading zero in number"
        case .invalidNumber: "invalid number"
        case .controlCharacterInString(let byte): "unescaped control character \(Self.show(byte)) in string"
        case .invalidEscape(let byte): "invalid escape \\\(Self.show(byte))"
        case .invalidUnicodeEscape: "invalid \\u escape"
        case .loneSurrogate: "lone surrogate in \\u escape"
        case .invalidUTF8: "invalid UTF-8"
        case .depthLimitExceeded(let limit): "nesting deeper than \(limit)"
        case .stringTooLong(let limit): "string longer than \(limit) bytes"
        case .numberTooLong(let limit): "number longer than \(limit) bytes"
        case .trailingData: "unexpected data after the value"
        }
    }

    /// A printable ASCII byte in quotes, anything else as hex.
    private static func show(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}

/// Resource limits applied while parsing untrusted input.
///
/// The total input size is the caller's business (the transport caps frame size before a frame
/// ever reaches the parser); these limits bound what a single frame can make the parser build.
public struct JSONLimits: Sendable, Equatable {
    /// Deepest allowed nesting of arrays and objects; a top-level `[]` is depth 1.
    public var maxDepth: Int
    /// Longest allowed string or object key, counted in UTF-8 bytes after unescaping.
    public var maxStringBytes: Int
    /// Longest allowed number lexeme in bytes.
    public var maxNumberBytes: Int

    public init(maxDepth: Int = 32, maxStringBytes: Int = 65_536, maxNumberBytes: Int = 64) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxNumberBytes = maxNumberBytes
    }

    /// Depth 32, strings up to 64 KiB, numbers up to 64 bytes.
    public static let `default` = JSONLimits()
}
