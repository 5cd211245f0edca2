import COpenSSL
import Crypto

/// The hash functions BankHub uses, for HMAC and TOTP.
public enum HashAlgorithm: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Digest size in bytes.
    public var digestLength: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        }
    }
}

/// SHA-256 (swift-crypto, BoringSSL underneath).
public enum SHA256 {
    /// Digest size in bytes.
    public static let digestLength = 32

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let digest = Array(Crypto.SHA256.hash(data: Array(bytes)))
        assert(digest.count == digestLength)
        return digest
    }

    /// The SHA-256 digest of the UTF-8 of `text`.
    public static func hash(_ text: String) -> [UInt8] {
        hash(text.utf8)
    }
}

/// HMAC (RFC 2104) through swift-crypto.
public enum HMAC {
    /// The HMAC of `message` under `key`. Keys of any length are allowed (longer than the
    /// block size are hashed first, as the RFC requires).
    public static func authenticate(
        _ message: some Collection<UInt8>, key: some Collection<UInt8>, algorithm: HashAlgorithm = .sha256
    ) -> [UInt8] {
        let symmetricKey = SymmetricKey(data: Array(key))
        let bytes = Array(message)
        let mac: [UInt8] = switch algorithm {
        case .sha1: Array(Crypto.HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: symmetricKey))
        case .sha256: Array(Crypto.HMAC<Crypto.SHA256>.authenticationCode(for: bytes, using: symmetricKey))
        case .sha512: Array(Crypto.HMAC<SHA512>.authenticationCode(for: bytes, using: symmetricKey))
        }
        assert(mac.count == algorithm.digestLength)
        return mac
    }
}

/// Whether `a` and `b` hold the same bytes, taking time that depends only on their lengths
/// (never on where they first differ), via `CRYPTO_memcmp`. Different lengths compare unequal.
/// Use it for every comparison of a secret against attacker-supplied input: MACs, password
/// hashes, one-time codes, tokens.
public func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return withContiguousBytes(a) { left in
        withContiguousBytes(b) { right in
            CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0
        }
    }
}

/// Calls `body` with the bytes of `bytes` in contiguous memory whose base address is never
/// `nil`, even when empty: OpenSSL treats a `NULL` key or data pointer specially.
func withContiguousBytes<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    func nonNull(_ buffer: UnsafeBufferPointer<UInt8>) -> R {
        if buffer.baseAddress != nil { return body(buffer) }
        var placeholder: UInt8 = 0
        return withUnsafePointer(to: &placeholder) { body(UnsafeBufferPointer(start: $0, count: 0)) }
    }
    if let result = bytes.withContiguousStorageIfAvailable(nonNull) { return result }
    return Array(bytes).withUnsafeBufferPointer(nonNull)
}
