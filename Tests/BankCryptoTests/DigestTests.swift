import Testing
@testable import BankCrypto

/// SHA-256, HMAC (RFC 4231 / RFC 2202 vectors) and constant-time comparison.
struct DigestTests {
    /// FIPS 180-2 SHA-256 vectors, including the empty message.
    @Test func sha256MatchesKnownVectors() {
        #expect(Hex.encode(SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.encode(SHA256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// RFC 4231 test case 1: 20-byte 0x0b key, "Hi There".
    @Test func hmacMatchesRFC4231TestCase1() {
        let key = [UInt8](repeating: 0x0B, count: 20)
        let message = Array("Hi There".utf8)
        #expect(Hex.encode(HMAC.authenticate(message, key: key, algorithm: .sha256))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hex.encode(HMAC.authenticate(message, key: key, algorithm: .sha512))
                == "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854")
    }

    /// RFC 4231 test case 2: a key shorter than the output ("Jefe").
    @Test func hmacMatchesRFC4231TestCase2() {
        let key = Array("Jefe".utf8)
        let message = Array("what do ya want for nothing?".utf8)
        #expect(Hex.encode(HMAC.authenticate(message, key: key, algorithm: .sha256))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Hex.encode(HMAC.authenticate(message, key: key, algorithm: .sha512))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                + "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
    }

    /// RFC 4231 test case 6: a 131-byte key, longer than the block, is hashed first.
    @Test func hmacMatchesRFC4231TestCase6LongKey() {
        let key = [UInt8](repeating: 0xAA, count: 131)
        let message = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(Hex.encode(HMAC.authenticate(message, key: key, algorithm: .sha256))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// RFC 2202 HMAC-SHA1 test cases 1 and 2 (RFC 4231 covers only the SHA-2 family).
    @Test func hmacSHA1MatchesRFC2202() {
        #expect(Hex.encode(HMAC.authenticate(Array("Hi There".utf8), key: [UInt8](repeating: 0x0B, count: 20), algorithm: .sha1))
                == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(Hex.encode(HMAC.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8), algorithm: .sha1))
                == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    /// An empty key and an empty message are valid HMAC inputs.
    @Test func hmacAcceptsEmptyKeyAndMessage() {
        #expect(Hex.encode(HMAC.authenticate([UInt8](), key: [UInt8](), algorithm: .sha256))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    /// Equal bytes compare equal; any differing byte or length does not.
    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
        #expect(!constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!constantTimeEquals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!constantTimeEquals([UInt8](), [0] as [UInt8]))
        #expect(constantTimeEquals("123456".utf8, Array("123456".utf8)))
    }
}
