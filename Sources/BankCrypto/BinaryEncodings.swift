/// Base64url (RFC 4648 §5) without padding: session tokens, salts and hashes in stored
/// password encodings.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The unpadded base64url text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= input.count {
            let chunk = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(chunk >> UInt32(shift) & 0x3F)]) }
            i += 3
        }
        switch input.count - i {
        case 1:
            let chunk = UInt32(input[i]) << 16
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
        case 2:
            let chunk = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
            output.append(alphabet[Int(chunk >> 6 & 0x3F)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of unpadded base64url `text`, or `nil` if it contains anything outside the
    /// alphabet (including `=`, `+`, `/` and whitespace), has an impossible length, or is not
    /// the canonical encoding (non-zero unused bits in the last character).
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in input {
            guard let value = sextet(character) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}

/// Base32 (RFC 4648 §6, alphabet `A–Z 2–7`): the format authenticator apps expect for TOTP
/// secrets.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// The base32 text of `bytes`, `=`-padded to a multiple of 8 characters unless `padding`
    /// is false (otpauth URIs conventionally leave the padding off).
    public static func encode(_ bytes: some Collection<UInt8>, padding: Bool = true) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 4) / 5 * 8)
        var accumulator: UInt64 = 0
        var bits = 0
        for byte in bytes {
            accumulator = accumulator << 8 | UInt64(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                output.append(alphabet[Int(accumulator >> UInt64(bits) & 0x1F)])
            }
        }
        if bits > 0 {
            output.append(alphabet[Int(accumulator << UInt64(5 - bits) & 0x1F)])
        }
        if padding {
            while output.count % 8 != 0 { output.append(UInt8(ascii: "=")) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of base32 `text`, or `nil` if it is not valid. Letters may be in either case
    /// and trailing `=` padding is optional, but when present it must be complete; characters
    /// outside the alphabet, impossible lengths and non-zero unused bits are refused.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(utf8: Array(text.utf8))
    }

    /// ``decode(_:)`` of the UTF-8 bytes of the text: for secrets (NKey seeds) read as bytes, so that the caller
    /// can wipe them; no copy is made unless the text has padding to strip.
    public static func decode(utf8 text: [UInt8]) -> [UInt8]? {
        var input = text
        if let firstPad = input.firstIndex(of: UInt8(ascii: "=")) {
            guard input.count % 8 == 0,
                  input[firstPad...].allSatisfy({ $0 == UInt8(ascii: "=") })
            else { return nil }
            input.removeSubrange(firstPad...)
            guard input.count % 8 != 0 else { return nil }  // padding only ever ends a partial group
        }
        // Only 0, 2, 4, 5 or 7 characters can end a group of 8.
        guard [0, 2, 4, 5, 7].contains(input.count % 8) else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 5 / 8)
        var accumulator: UInt64 = 0
        var bits = 0
        for character in input {
            guard let value = quintet(character) else { return nil }
            accumulator = accumulator << 5 | UInt64(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt64(bits)))
            }
        }
        guard accumulator & ((1 << UInt64(bits)) - 1) == 0 else { return nil }
        return output
    }

    private static func quintet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a")
        case UInt8(ascii: "2")...UInt8(ascii: "7"): character - UInt8(ascii: "2") + 26
        default: nil
        }
    }
}

/// Lowercase hexadecimal, for logs, fingerprints and test vectors.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The lowercase hex text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of hex `text` (either case), or `nil` for an odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 2)
        var i = 0
        while i < input.count {
            guard let high = nibble(input[i]), let low = nibble(input[i + 1]) else { return nil }
            output.append(high << 4 | low)
            i += 2
        }
        return output
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
