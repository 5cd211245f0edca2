#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Time-based one-time passwords (RFC 6238, built on RFC 4226 HOTP), compatible with common
/// authenticator apps at the defaults: 6 digits, 30-second steps, HMAC-SHA1.
public struct TOTP: Sendable {
    public let secret: [UInt8]
    public let digits: Int
    public let period: Int
    public let algorithm: HashAlgorithm

    /// A generator for `secret`. `digits` must be 6...8 (RFC 4226 requires at least 6) and
    /// `period` positive. RFC 4226 recommends a secret of at least 20 bytes; see
    /// ``generateSecret(byteCount:)``.
    public init(secret: [UInt8], digits: Int = 6, period: Int = 30, algorithm: HashAlgorithm = .sha1) {
        precondition((6...8).contains(digits), "TOTP codes have 6 to 8 digits")
        precondition(period > 0, "TOTP period must be positive")
        self.secret = secret
        self.digits = digits
        self.period = period
        self.algorithm = algorithm
    }

    /// A fresh random secret; 20 bytes matches SHA-1's output size, as RFC 4226 recommends.
    public static func generateSecret(byteCount: Int = 20) -> [UInt8] {
        SecureRandom.bytes(byteCount)
    }

    /// The time step (moving factor) containing `unixSeconds`. Times before the epoch are
    /// treated as step 0.
    public func counter(at unixSeconds: Int64) -> UInt64 {
        unixSeconds <= 0 ? 0 : UInt64(unixSeconds) / UInt64(period)
    }

    /// The code for the step containing `unixSeconds`, zero-padded to ``digits``.
    public func code(at unixSeconds: Int64) -> String {
        code(counter: counter(at: unixSeconds))
    }

    /// The code for the step containing `date`.
    public func code(at date: Date) -> String {
        code(at: Self.unixSeconds(date))
    }

    /// The HOTP value for step `counter` (RFC 4226 §5.3 dynamic truncation).
    public func code(counter: UInt64) -> String {
        let message = withUnsafeBytes(of: counter.bigEndian) { Array($0) }
        let mac = HMAC.authenticate(message, key: secret, algorithm: algorithm)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = UInt32(mac[offset] & 0x7F) << 24 | UInt32(mac[offset + 1]) << 16
            | UInt32(mac[offset + 2]) << 8 | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// Whether `code` is valid within `window` steps either side of the step containing
    /// `unixSeconds` (window 1 tolerates ±30 s of clock drift at the default period).
    /// Every candidate is compared in constant time. This does not stop a code being replayed
    /// inside its window; use ``matchingCounter(code:at:window:)`` and remember the last step.
    public func verify(code: String, at unixSeconds: Int64, window: Int = 1) -> Bool {
        matchingCounter(code: code, at: unixSeconds, window: window) != nil
    }

    /// Whether `code` is valid around `date`, as the `Int64` overload does.
    public func verify(code: String, at date: Date, window: Int = 1) -> Bool {
        verify(code: code, at: Self.unixSeconds(date), window: window)
    }

    /// The step whose code equals `code`, searching `window` steps either side of the step
    /// containing `unixSeconds`, or `nil`. Callers that store the returned step and refuse any
    /// step not greater than it get RFC 6238 §5.2 replay protection.
    public func matchingCounter(code: String, at unixSeconds: Int64, window: Int = 1) -> UInt64? {
        precondition(window >= 0, "window must not be negative")
        let submitted = Array(code.utf8)
        guard submitted.count == digits,
              submitted.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let center = counter(at: unixSeconds)
        var match: UInt64?
        // Check every candidate step without stopping early, so timing reveals nothing.
        for delta in -window...window {
            let (step, overflow) = delta < 0
                ? center.subtractingReportingOverflow(UInt64(-delta))
                : center.addingReportingOverflow(UInt64(delta))
            if overflow { continue }
            if constantTimeEquals(Array(self.code(counter: step).utf8), submitted), match == nil {
                match = step
            }
        }
        return match
    }

    /// The `otpauth://` URI authenticator apps import (usually via a QR code), in the
    /// Key Uri Format: `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=…&digits=…&period=…`.
    /// The secret is unpadded base32; label and parameters are percent-encoded.
    public func provisioningURI(issuer: String, account: String) -> String {
        let label = Self.percentEncode(issuer) + ":" + Self.percentEncode(account)
        let query = [
            "secret=" + Base32.encode(secret, padding: false),
            "issuer=" + Self.percentEncode(issuer),
            "algorithm=" + algorithm.rawValue,
            "digits=" + String(digits),
            "period=" + String(period),
        ]
        return "otpauth://totp/" + label + "?" + query.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + Hex.encode([byte]).uppercased()
            }
        }
        return output
    }

    private static func unixSeconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}
