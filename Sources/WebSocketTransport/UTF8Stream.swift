/// Incremental strict UTF-8 validation of a text message that arrives in pieces (WHATWG decoder bounds: no
/// overlongs, no surrogates, nothing above U+10FFFF). Pure. A piece may end inside a code point; only the
/// message's end must not.
///
/// The transport validates text itself rather than with lws's `LWS_SERVER_OPTION_VALIDATE_UTF8`, because lws
/// 4.1.6 then also drops a connection whose close reason is not UTF-8 without sending the 1007 RFC 6455 asks for.
struct UTF8Stream: Equatable {
    /// Continuation bytes still expected for the current code point.
    private var needed = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Feeds the next piece; false as soon as a byte cannot continue valid UTF-8.
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        for byte in bytes where !accept(byte) { return false }
        return true
    }

    /// True when the bytes so far end on a code point boundary (required at the end of a message).
    var isAtBoundary: Bool { needed == 0 }

    private mutating func accept(_ byte: UInt8) -> Bool {
        if needed == 0 {
            switch byte {
            case 0x00...0x7F: return true
            case 0xC2...0xDF: needed = 1
            case 0xE0...0xEF:
                if byte == 0xE0 { lower = 0xA0 }
                if byte == 0xED { upper = 0x9F }
                needed = 2
            case 0xF0...0xF4:
                if byte == 0xF0 { lower = 0x90 }
                if byte == 0xF4 { upper = 0x8F }
                needed = 3
            default: return false
            }
            return true
        }
        guard byte >= lower && byte <= upper else { return false }
        lower = 0x80
        upper = 0xBF
        needed -= 1
        return true
    }
}
