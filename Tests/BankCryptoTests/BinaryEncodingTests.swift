import Testing
@testable import BankCrypto

/// Base64url, Base32 and hex: RFC 4648 vectors, round trips and strict decoding.
struct BinaryEncodingTests {
    private let rfc4648Inputs = ["", "f", "fo", "foo", "foob", "fooba", "foobar"]

    /// RFC 4648 §10 base64 vectors, in the URL alphabet with padding removed.
    @Test func base64URLMatchesRFC4648Vectors() {
        let expected = ["", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"]
        for (input, output) in zip(rfc4648Inputs, expected) {
            #expect(Base64URL.encode(Array(input.utf8)) == output)
            #expect(Base64URL.decode(output) == Array(input.utf8))
        }
    }

    /// The URL alphabet uses `-` and `_` where standard base64 uses `+` and `/`.
    @Test func base64URLUsesURLSafeAlphabet() {
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64URL.decode("-_-_") == [0xFB, 0xFF, 0xBF])
    }

    /// Padding, standard-alphabet characters, impossible lengths and stray bits are refused.
    @Test func base64URLRejectsNonCanonicalInput() {
        for bad in ["Zg==", "+/8", "Z", "Zm9vY", "Zm 9v", "Zm9v\n"] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
        #expect(Base64URL.decode("Zh") == nil, "last character carries non-zero unused bits")
        #expect(Base64URL.decode("Zm9") == nil, "last character carries non-zero unused bits")
        #expect(Base64URL.decode("Zm8") == Array("fo".utf8))
    }

    /// Random byte strings of every length survive a base64url round trip.
    @Test func base64URLRoundTripsRandomBytes() {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(length)
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    /// RFC 4648 §10 base32 vectors, padded and unpadded.
    @Test func base32MatchesRFC4648Vectors() {
        let expected = ["", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"]
        for (input, output) in zip(rfc4648Inputs, expected) {
            let bytes = Array(input.utf8)
            #expect(Base32.encode(bytes) == output)
            #expect(Base32.decode(output) == bytes)
            let unpadded = String(output.prefix { $0 != "=" })
            #expect(Base32.encode(bytes, padding: false) == unpadded)
            #expect(Base32.decode(unpadded) == bytes)
        }
    }

    /// Lowercase input decodes, as users sometimes type secrets by hand.
    @Test func base32DecodesLowercase() {
        #expect(Base32.decode("mzxw6ytboi") == Array("foobar".utf8))
    }

    /// Bad characters, impossible lengths, broken padding and stray bits are refused.
    @Test func base32RejectsMalformedInput() {
        for bad in ["M", "MZX", "MZXW6Y", "MY=", "MY=====", "MY==A===", "MZ======", "M1======", "MZXW6YTB========", "MZXW 6YTB", "========"] {
            #expect(Base32.decode(bad) == nil, "\(bad)")
        }
    }

    /// Random byte strings of every length survive a base32 round trip.
    @Test func base32RoundTripsRandomBytes() {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(length)
            #expect(Base32.decode(Base32.encode(bytes)) == bytes)
            #expect(Base32.decode(Base32.encode(bytes, padding: false)) == bytes)
        }
    }

    /// Hex is lowercase on the way out and case-insensitive on the way in.
    @Test func hexEncodesLowercaseAndDecodesEitherCase() {
        #expect(Hex.encode([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
        #expect(Hex.decode("000FA5ff") == [0x00, 0x0F, 0xA5, 0xFF])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
