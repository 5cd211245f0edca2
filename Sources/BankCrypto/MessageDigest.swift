import COpenSSL

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

    /// OpenSSL's built-in implementation (a static object; never freed).
    var evp: OpaquePointer {
        switch self {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        }
    }
}

/// SHA-256 through OpenSSL's EVP interface.
public enum SHA256 {
    /// Digest size in bytes.
    public static let digestLength = 32

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestLength)
        var length: UInt32 = 0
        let status = withContiguousBytes(bytes) { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        precondition(status == 1 && length == UInt32(digestLength), "EVP_Digest(SHA-256) failed")
        return digest
    }

    /// The SHA-256 digest of the UTF-8 of `text`.
    public static func hash(_ text: String) -> [UInt8] {
        hash(text.utf8)
    }
}

/// HMAC (RFC 2104) through OpenSSL's one-shot `HMAC()`.
public enum HMAC {
    /// The HMAC of `message` under `key`. Keys of any length are allowed (longer than the
    /// block size are hashed first, as the RFC requires).
    public static func authenticate(
        _ message: some Collection<UInt8>, key: some Collection<UInt8>, algorithm: HashAlgorithm = .sha256
    ) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: algorithm.digestLength)
        var length: UInt32 = 0
        let result = withContiguousBytes(key) { keyBytes in
            withContiguousBytes(message) { messageBytes in
                mac.withUnsafeMutableBufferPointer { output in
                    COpenSSL.HMAC(algorithm.evp, keyBytes.baseAddress, Int32(keyBytes.count),
                                  messageBytes.baseAddress, messageBytes.count, output.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == UInt32(algorithm.digestLength), "HMAC(\(algorithm)) failed")
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
