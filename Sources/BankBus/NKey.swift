import BankCrypto
import Crypto

/// NATS NKeys (https://github.com/nats-io/nkeys): an Ed25519 key written as base32 without padding of
/// `[prefix byte(s) | 32 key bytes | CRC-16 little-endian]`. A seed (`S…`) carries the private key's 32-byte
/// seed; the public key (`U…` for a user) is what the NATS server lists. The hub reads a user seed only to
/// derive its public key for `natsOptions_SetNKeyFromSeed`: libnats reads the seed file itself to sign the
/// server's nonce, so the seed never crosses the wire. No message of this type ever shows a seed.
public enum NKey {
    /// Why text is not a user seed; says what was expected, never the text.
    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The first byte of every seed is `seedPrefix | (type >> 5)` (base32 `S`), the second `(type & 31) << 3`.
    static let seedPrefix: UInt8 = 18 << 3
    /// The type of a user key (base32 `U`).
    static let userPrefix: UInt8 = 20 << 3
    /// Bytes of an Ed25519 seed and of an Ed25519 public key.
    static let keyBytes = 32

    /// The public key (`U…`, 56 characters) of the user seed `text` (`SU…`, 58 characters; surrounding
    /// whitespace ignored). Throws when it is not a base32 user seed with a valid checksum.
    public static func userPublicKey(fromSeed text: String) throws(FormatError) -> String {
        var bytes = Array(text.utf8)
        defer { wipe(&bytes) }
        return try userPublicKey(fromSeed: bytes)
    }

    /// ``userPublicKey(fromSeed:)-(String)`` of the seed's UTF-8 bytes (as read from its file, so the caller can
    /// zero them after use).
    public static func userPublicKey(fromSeed text: [UInt8]) throws(FormatError) -> String {
        var raw = try decodeUserSeed(text)
        defer { wipe(&raw) }
        let publicKey: [UInt8]
        do {
            publicKey = Array(try Curve25519.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation)
        } catch {
            throw FormatError(description: "not a valid Ed25519 seed")
        }
        return encode([userPrefix] + publicKey)
    }

    /// The user seed (`SU…`) of a raw 32-byte Ed25519 seed, e.g. for a test server's user.
    public static func userSeed(raw: [UInt8]) -> String {
        precondition(raw.count == keyBytes, "an Ed25519 seed is 32 bytes")
        return encode([seedPrefix | (userPrefix >> 5), (userPrefix & 31) << 3] + raw)
    }

    /// The 32-byte Ed25519 seed inside a user seed, checked for its base32, length, prefixes and checksum.
    static func decodeUserSeed(_ text: String) throws(FormatError) -> [UInt8] {
        var bytes = Array(text.utf8)
        defer { wipe(&bytes) }
        return try decodeUserSeed(bytes)
    }

    /// ``decodeUserSeed(_:)-(String)`` of UTF-8 bytes; ASCII whitespace (a trailing newline) is ignored.
    static func decodeUserSeed(_ text: [UInt8]) throws(FormatError) -> [UInt8] {
        var trimmed = text.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        defer { wipe(&trimmed) }
        // NKeys are upper case; the shared decoder would also take lower case, which libnats refuses.
        guard !trimmed.contains(where: { (0x61...0x7A).contains($0) }),
              var bytes = Base32.decode(utf8: trimmed), bytes.count >= 2 else {
            throw FormatError(description: "not an NKey seed (58 base32 characters starting with SU)")
        }
        defer { wipe(&bytes) }
        guard bytes[0] & 0xF8 == seedPrefix else {
            throw FormatError(description: "not an NKey seed (it must start with S; a public key is not a seed)")
        }
        guard (bytes[0] & 7) << 5 | (bytes[1] & 0xF8) >> 3 == userPrefix else {
            throw FormatError(description: "not a user NKey seed (SU…): an account, operator or server seed cannot sign in a client")
        }
        guard bytes.count == 2 + keyBytes + 2 else {
            throw FormatError(description: "not an NKey seed (58 base32 characters starting with SU)")
        }
        guard CRC16.checksum(bytes[..<(bytes.count - 2)]) == UInt16(bytes[bytes.count - 2]) | UInt16(bytes[bytes.count - 1]) << 8
        else { throw FormatError(description: "the NKey seed's checksum does not match (a character is wrong or missing)") }
        return Array(bytes[2..<(2 + keyBytes)])
    }

    /// `payload` with its CRC-16 appended (little-endian), in base32 without padding.
    static func encode(_ payload: [UInt8]) -> String {
        let crc = CRC16.checksum(payload[...])
        return Base32.encode(payload + [UInt8(crc & 0xFF), UInt8(crc >> 8)], padding: false)
    }

    /// Overwrites secret bytes before they are released (best effort: Swift may have copied them).
    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }
}

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0), the checksum NKeys end with.
enum CRC16 {
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
