import _CryptoExtras

/// Password hashing with PBKDF2-HMAC-SHA256 (swift-crypto's `KDF.Insecure.PBKDF2`, BoringSSL underneath:
/// 69 ms against OpenSSL 3's 142 ms for 600,000 rounds on this machine, see docs/performance.md).
///
/// Each password gets a fresh 16-byte random salt and a 32-byte derived key. The result is a
/// self-describing string, so the cost can be raised later without a schema change:
///
///     pbkdf2-sha256$600000$<salt, base64url>$<hash, base64url>
///
/// ``verify(password:encoded:)`` reads the iteration count from the stored string (so old rows
/// keep verifying after the default changes), and ``needsRehash(encoded:)`` tells the caller to
/// re-hash with the current settings after a successful login.
///
/// Passwords are hashed as their UTF-8 bytes with no Unicode normalisation; the sign-up and
/// login paths must hand over the same string.
public struct PasswordHasher: Sendable {
    /// The scheme tag at the front of every encoding.
    public static let scheme = "pbkdf2-sha256"
    /// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
    public static let defaultIterations = 600_000
    /// Iteration counts accepted when hashing or verifying. Counts outside it are refused so a
    /// corrupt or hostile stored row cannot make a login spin for minutes.
    public static let allowedIterations = 1_000...10_000_000
    /// Salt size in bytes.
    public static let saltLength = 16
    /// Derived key size in bytes.
    public static let keyLength = 32

    /// The iteration count used by ``hash(password:)``.
    public let iterations: Int

    /// A hasher using `iterations` rounds of PBKDF2 (which must lie in ``allowedIterations``).
    ///
    /// Production code should keep the default of 600 000. Tests and demo-data seeding may pass
    /// a smaller count (down to 1 000) to stay fast; such hashes still verify, and
    /// ``needsRehash(encoded:)`` flags them once a hasher with the default count sees them.
    public init(iterations: Int = PasswordHasher.defaultIterations) {
        precondition(Self.allowedIterations.contains(iterations),
                     "PBKDF2 iterations must be within \(Self.allowedIterations)")
        self.iterations = iterations
    }

    /// A new encoded hash of `password` with a fresh random salt.
    public func hash(password: String) -> String {
        let salt = SecureRandom.bytes(Self.saltLength)
        let key = Self.deriveKey(password: Array(password.utf8), salt: salt,
                                 iterations: iterations, keyLength: Self.keyLength)
        return [Self.scheme, String(iterations), Base64URL.encode(salt), Base64URL.encode(key)]
            .joined(separator: "$")
    }

    /// Whether `password` matches `encoded`. Malformed encodings, unknown schemes and
    /// iteration counts outside ``allowedIterations`` verify `false`; the final comparison is
    /// constant time.
    public func verify(password: String, encoded: String) -> Bool {
        guard let stored = Encoding(encoded) else { return false }
        let candidate = Self.deriveKey(password: Array(password.utf8), salt: stored.salt,
                                       iterations: stored.iterations, keyLength: stored.hash.count)
        return constantTimeEquals(candidate, stored.hash)
    }

    /// Whether `encoded` should be replaced by a fresh ``hash(password:)``: true when it is
    /// malformed, uses another scheme, or its iteration count, salt or key size differ from
    /// this hasher's settings.
    public func needsRehash(encoded: String) -> Bool {
        guard let stored = Encoding(encoded) else { return true }
        return stored.iterations != iterations
            || stored.salt.count != Self.saltLength
            || stored.hash.count != Self.keyLength
    }

    /// Raw PBKDF2-HMAC-SHA256 (RFC 8018): `keyLength` bytes derived from `password` and `salt`.
    /// Exposed for known-answer tests; store passwords with ``hash(password:)``.
    public static func deriveKey(
        password: [UInt8], salt: [UInt8], iterations: Int, keyLength: Int
    ) -> [UInt8] {
        precondition(iterations >= 1 && iterations <= Int(Int32.max), "iterations out of range")
        precondition(keyLength > 0, "key length must be positive")
        // unsafeUncheckedRounds: the count is ours (600,000 by default; tests use fewer), not an attacker's.
        guard let key = try? KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .sha256,
                                                            outputByteCount: keyLength,
                                                            unsafeUncheckedRounds: iterations) else {
            preconditionFailure("PBKDF2-HMAC-SHA256 failed")
        }
        return key.withUnsafeBytes { Array($0) }
    }

    /// A parsed `pbkdf2-sha256$iterations$salt$hash` string.
    private struct Encoding {
        let iterations: Int
        let salt: [UInt8]
        let hash: [UInt8]

        init?(_ encoded: String) {
            let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
            guard fields.count == 4, fields[0] == PasswordHasher.scheme,
                  let iterations = Int(fields[1]), String(iterations) == fields[1],
                  PasswordHasher.allowedIterations.contains(iterations),
                  let salt = Base64URL.decode(String(fields[2])), (8...64).contains(salt.count),
                  let hash = Base64URL.decode(String(fields[3])), (16...64).contains(hash.count)
            else { return nil }
            self.iterations = iterations
            self.salt = salt
            self.hash = hash
        }
    }
}
