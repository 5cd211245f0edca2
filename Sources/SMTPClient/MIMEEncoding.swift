import Glibc

/// The byte-level encodings a plain-text message needs: CRLF line endings, dot-stuffing for DATA (RFC 5321
/// section 4.5.2), quoted-printable bodies (RFC 2045 section 6.7), RFC 2047 encoded words for non-ASCII
/// header text, Base64 for AUTH, and the RFC 5322 date. Pure functions, tested without a server.
enum MIMEEncoding {
    /// The longest line SMTP allows, CRLF excluded (RFC 5321 section 4.5.3.1.6).
    static let lineBytesMax = 998
    /// The longest quoted-printable line, soft break "=" included (RFC 2045).
    static let quotedPrintableLineMax = 76

    /// Splits text into lines on CRLF, lone LF or lone CR.
    static func lines(_ text: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0, index = 0
        while index < bytes.count {
            if bytes[index] == 13 || bytes[index] == 10 {
                lines.append(bytes[start..<index])
                if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 { index += 1 }
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        return lines
    }

    /// The DATA payload: every line ending in CRLF, a line starting with "." gets a second ".", and the
    /// terminating ".\r\n". `message` must already use CRLF line endings and end with one.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        precondition(message.isEmpty || message.suffix(2) == [13, 10], "the message ends with CRLF")
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 16)
        var atLineStart = true
        for byte in message {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(byte)
            atLineStart = byte == 10
        }
        out.append(contentsOf: Array(".\r\n".utf8))
        return out
    }

    /// Quoted-printable body lines (each ending CRLF): printable ASCII as is, "=" and 8-bit bytes as =XX,
    /// trailing spaces and tabs encoded, lines longer than 76 characters broken with soft breaks.
    static func quotedPrintable(_ lines: [ArraySlice<UInt8>]) -> [UInt8] {
        var out: [UInt8] = []
        for line in lines {
            var column = 0
            for (offset, byte) in zip(line.indices, line) {
                let isLast = offset == line.index(before: line.endIndex)
                let literal = (33...126).contains(byte) && byte != UInt8(ascii: "=")
                    || (byte == 32 || byte == 9) && !isLast
                let width = literal ? 1 : 3
                // Keep room for the soft break "=" unless this is the line's last character.
                if column + width > quotedPrintableLineMax - (isLast ? 0 : 1) {
                    out.append(contentsOf: [UInt8(ascii: "="), 13, 10])
                    column = 0
                }
                if literal {
                    out.append(byte)
                } else {
                    out.append(UInt8(ascii: "="))
                    out.append(hexDigit(byte >> 4))
                    out.append(hexDigit(byte & 0x0F))
                }
                column += width
            }
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    /// Header text: as is when printable ASCII, otherwise RFC 2047 "B" encoded words of UTF-8, each at most
    /// 75 characters, joined by folding whitespace. CR and LF never reach a header.
    static func headerText(_ text: String) -> String {
        let flattened = text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : String($0) }.joined()
        if flattened.utf8.allSatisfy({ (32...126).contains($0) }) { return flattened }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in flattened {
            let bytes = Array(String(character).utf8)
            // 39 bytes of UTF-8 are 52 of Base64: a 64-character word, so even "Subject: " and the first word
            // fit the 76 characters RFC 2047 allows on a line.
            if chunk.count + bytes.count > 39, !chunk.isEmpty {
                words.append("=?utf-8?B?" + base64(chunk) + "?=")
                chunk = []
            }
            chunk.append(contentsOf: bytes)
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?" + base64(chunk) + "?=") }
        return words.joined(separator: "\r\n ")
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let first = bytes[index]
            let second = index + 1 < bytes.count ? bytes[index + 1] : 0
            let third = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(first >> 2)])
            out.append(alphabet[Int((first & 0x03) << 4 | second >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((second & 0x0F) << 2 | third >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(third & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An RFC 5322 date in UTC, e.g. "Tue, 03 Mar 2026 09:05:00 +0000".
    static func date(secondsSinceEpoch: Int) -> String {
        var time = time_t(secondsSinceEpoch)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }
}
