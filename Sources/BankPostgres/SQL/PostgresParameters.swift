import BankStorage

/// SQLite-style parameters to PostgreSQL's: the SQL rewrite and the text encoding of each value.
enum PostgresParameters {
    /// Type OIDs (pg_type): int8, text, bytea, and 0 for "infer from the SQL" (used for NULL).
    static let int8Oid: UInt32 = 20
    static let textOid: UInt32 = 25
    static let byteaOid: UInt32 = 17
    static let inferredOid: UInt32 = 0

    /// `?` becomes `$1`, `$2`… in order and `?NNN` becomes `$NNN`; text inside '...' literals, "..." names
    /// and `--` comments is left alone.
    static func rewrite(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var next = 0
        var quote: Character? = nil
        var inComment = false
        var characters = sql.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if inComment {
                if character == "\n" { inComment = false }
            } else if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-" && pending == "-" {
                inComment = true
            } else if character == "?" {
                var digits = ""
                while let digit = pending, digit.isASCII, digit.isNumber {
                    digits.append(digit)
                    pending = characters.next()
                }
                if digits.isEmpty {
                    next += 1
                    output += "$\(next)"
                } else {
                    output += "$" + digits
                }
                continue
            }
            output.append(character)
        }
        return output
    }

    /// The text form of `value` and its type OID (nil text is SQL NULL).
    static func encode(_ value: SQLValue) -> (String?, UInt32) {
        switch value {
        case .integer(let number): (String(number), int8Oid)
        case .text(let text): (text, textOid)
        case .blob(let bytes): (encodeHex(bytes), byteaOid)
        case .null: (nil, inferredOid)
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// bytea's hex input form: `\x` then two lowercase hex digits per byte.
    static func encodeHex(_ bytes: [UInt8]) -> String {
        var utf8: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        utf8.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            utf8.append(hexDigits[Int(byte >> 4)])
            utf8.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Bytes of bytea's hex output form (`\x…`), or nil when `text` is not in it.
    static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
