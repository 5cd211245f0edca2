import Testing
@testable import BankCrypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 6238 vectors, verification windows and provisioning URIs.
struct TOTPTests {
    private static let seeds: [HashAlgorithm: [UInt8]] = [
        .sha1: Array("12345678901234567890".utf8),
        .sha256: Array("12345678901234567890123456789012".utf8),
        .sha512: Array("1234567890123456789012345678901234567890123456789012345678901234".utf8),
    ]

    /// RFC 6238 Appendix B: (time, SHA-1, SHA-256, SHA-512) 8-digit codes.
    private static let vectors: [(Int64, String, String, String)] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ]

    private func totp(_ algorithm: HashAlgorithm) -> TOTP {
        TOTP(secret: Self.seeds[algorithm]!, digits: 8, period: 30, algorithm: algorithm)
    }

    /// Every RFC 6238 Appendix B code, for all three algorithms and their own seed lengths.
    @Test func matchesRFC6238AppendixBVectors() {
        for (time, sha1, sha256, sha512) in Self.vectors {
            #expect(totp(.sha1).code(at: time) == sha1, "SHA1 at \(time)")
            #expect(totp(.sha256).code(at: time) == sha256, "SHA256 at \(time)")
            #expect(totp(.sha512).code(at: time) == sha512, "SHA512 at \(time)")
        }
    }

    /// The `Date` overload agrees with the Unix-seconds one.
    @Test func dateOverloadMatchesUnixSeconds() {
        let date = Date(timeIntervalSince1970: 1_111_111_109.9)
        #expect(totp(.sha1).code(at: date) == "07081804")
        #expect(totp(.sha1).verify(code: "07081804", at: date))
    }

    /// Six-digit codes are the last six digits of the eight-digit ones, zero-padded.
    @Test func producesZeroPaddedSixDigitCodes() {
        let six = TOTP(secret: Self.seeds[.sha1]!)
        #expect(six.code(at: 1_111_111_109) == "081804")
        #expect(six.code(at: 59) == "287082")
    }

    /// The current code and its neighbours within the window verify; farther ones do not.
    @Test func verifiesWithinWindowOnly() {
        let generator = totp(.sha1)
        let now: Int64 = 1_234_567_890
        let current = generator.code(at: now)
        let previous = generator.code(at: now - 30)
        let next = generator.code(at: now + 30)
        let stale = generator.code(at: now - 60)
        #expect(generator.verify(code: current, at: now))
        #expect(generator.verify(code: previous, at: now))
        #expect(generator.verify(code: next, at: now))
        #expect(!generator.verify(code: stale, at: now))
        #expect(generator.verify(code: stale, at: now, window: 2))
        #expect(!generator.verify(code: previous, at: now, window: 0))
    }

    /// Wrong length, non-digits and whitespace are refused before any comparison.
    @Test func rejectsMalformedCodes() {
        let generator = TOTP(secret: Self.seeds[.sha1]!)
        let code = generator.code(at: 59)
        #expect(generator.verify(code: code, at: 59))
        for bad in ["", String(code.dropLast()), code + "0", " " + code, "28708a", "２８７０８２"] {
            #expect(!generator.verify(code: bad, at: 59), "\(bad)")
        }
    }

    /// `matchingCounter` reports which step matched, so callers can refuse replays.
    @Test func reportsMatchingCounterForReplayProtection() {
        let generator = totp(.sha1)
        #expect(generator.matchingCounter(code: "07081804", at: 1_111_111_109) == 37_037_036)
        #expect(generator.matchingCounter(code: "07081804", at: 1_111_111_109 + 30) == 37_037_036)
        #expect(generator.matchingCounter(code: "00000000", at: 1_111_111_109, window: 0) == nil)
        #expect(generator.verify(code: generator.code(counter: 0), at: 0))
    }

    /// The provisioning URI carries an unpadded base32 secret and percent-encoded label.
    @Test func buildsOtpauthProvisioningURI() {
        let generator = TOTP(secret: Array("12345678901234567890".utf8))
        let uri = generator.provisioningURI(issuer: "Bank Hub", account: "alice@example.com")
        #expect(uri == "otpauth://totp/Bank%20Hub:alice%40example.com"
                + "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank%20Hub&algorithm=SHA1&digits=6&period=30")
    }

    /// Generated secrets are 20 random bytes by default.
    @Test func generatesTwentyByteSecrets() {
        #expect(TOTP.generateSecret().count == 20)
        #expect(TOTP.generateSecret() != TOTP.generateSecret())
    }
}
