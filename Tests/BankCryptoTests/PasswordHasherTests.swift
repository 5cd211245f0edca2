import Testing
@testable import BankCrypto

/// PBKDF2 known answers and the stored-hash format: verify, salt, malformed input, rehash.
struct PasswordHasherTests {
    /// Fast enough for tests; production uses the 600 000 default.
    private let hasher = PasswordHasher(iterations: 1_000)

    /// PBKDF2-HMAC-SHA256 of "password"/"salt" at 1 and 4096 iterations (RFC 6070 inputs).
    @Test func deriveKeyMatchesPBKDF2SHA256Vectors() {
        let password = Array("password".utf8)
        let salt = Array("salt".utf8)
        #expect(Hex.encode(PasswordHasher.deriveKey(password: password, salt: salt, iterations: 1, keyLength: 32))
                == "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        #expect(Hex.encode(PasswordHasher.deriveKey(password: password, salt: salt, iterations: 4096, keyLength: 32))
                == "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    }

    /// RFC 7914 §11 PBKDF2-HMAC-SHA256 vector with a 64-byte output.
    @Test func deriveKeyMatchesRFC7914Vector() {
        let key = PasswordHasher.deriveKey(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, keyLength: 64)
        #expect(Hex.encode(key) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    }

    /// The encoding names the scheme and cost and carries a 16-byte salt and 32-byte hash.
    @Test func encodesSchemeIterationsSaltAndHash() {
        let fields = hasher.hash(password: "hunter2").split(separator: "$").map(String.init)
        #expect(fields.count == 4)
        #expect(fields[0] == "pbkdf2-sha256")
        #expect(fields[1] == "1000")
        #expect(Base64URL.decode(fields[2])?.count == 16)
        #expect(Base64URL.decode(fields[3])?.count == 32)
    }

    /// The right password verifies; a wrong, empty or differently-cased one does not.
    @Test func verifiesRightPasswordAndRejectsWrongOne() {
        let encoded = hasher.hash(password: "correct horse battery staple")
        #expect(hasher.verify(password: "correct horse battery staple", encoded: encoded))
        #expect(!hasher.verify(password: "correct horse battery stapl", encoded: encoded))
        #expect(!hasher.verify(password: "Correct horse battery staple", encoded: encoded))
        #expect(!hasher.verify(password: "", encoded: encoded))
    }

    /// Non-ASCII passwords hash as their UTF-8 bytes and verify.
    @Test func verifiesUnicodePassword() {
        let encoded = hasher.hash(password: "pässwörd💶")
        #expect(hasher.verify(password: "pässwörd💶", encoded: encoded))
    }

    /// Two hashes of one password differ because each gets its own salt.
    @Test func saltsEachHashDifferently() {
        let first = hasher.hash(password: "same")
        let second = hasher.hash(password: "same")
        #expect(first != second)
        #expect(hasher.verify(password: "same", encoded: first))
        #expect(hasher.verify(password: "same", encoded: second))
    }

    /// Hashes made with another cost still verify: the cost is read from the encoding.
    @Test func verifiesUsingStoredIterationCount() {
        let encoded = PasswordHasher(iterations: 2_000).hash(password: "pw")
        #expect(hasher.verify(password: "pw", encoded: encoded))
    }

    /// Garbage, other schemes, bad numbers, bad base64 and out-of-range costs verify false.
    @Test func malformedEncodingsVerifyFalse() {
        let good = hasher.hash(password: "pw").split(separator: "$").map(String.init)
        let salt = good[2], hash = good[3]
        let malformed = [
            "", "pw", "$$$", "pbkdf2-sha256$1000$\(salt)",
            "pbkdf2-sha256$1000$\(salt)$\(hash)$extra",
            "pbkdf2-sha1$1000$\(salt)$\(hash)",
            "bcrypt$1000$\(salt)$\(hash)",
            "pbkdf2-sha256$01000$\(salt)$\(hash)",
            "pbkdf2-sha256$+1000$\(salt)$\(hash)",
            "pbkdf2-sha256$1e3$\(salt)$\(hash)",
            "pbkdf2-sha256$999$\(salt)$\(hash)",
            "pbkdf2-sha256$10000001$\(salt)$\(hash)",
            "pbkdf2-sha256$99999999999999999999$\(salt)$\(hash)",
            "pbkdf2-sha256$-1000$\(salt)$\(hash)",
            "pbkdf2-sha256$1000$\(salt)=$\(hash)",
            "pbkdf2-sha256$1000$$\(hash)",
            "pbkdf2-sha256$1000$\(salt)$",
            "pbkdf2-sha256$1000$\(salt)$\(hash.dropLast(2))",
            "pbkdf2-sha256$1000$AAAA$\(hash)",
        ]
        for encoded in malformed {
            #expect(!hasher.verify(password: "pw", encoded: encoded), "\(encoded)")
        }
        #expect(hasher.verify(password: "pw", encoded: good.joined(separator: "$")))
    }

    /// A stored hash needs rehashing when its cost differs from the hasher's or it is unreadable.
    @Test func flagsRehashWhenCostDiffersOrEncodingIsBad() {
        let cheap = hasher.hash(password: "pw")
        #expect(!hasher.needsRehash(encoded: cheap))
        #expect(PasswordHasher().needsRehash(encoded: cheap))
        #expect(PasswordHasher(iterations: 2_000).needsRehash(encoded: cheap))
        #expect(hasher.needsRehash(encoded: "not a hash"))
    }

    /// The production default follows OWASP 2023 for PBKDF2-HMAC-SHA256.
    @Test func defaultsToSixHundredThousandIterations() {
        #expect(PasswordHasher().iterations == 600_000)
        #expect(PasswordHasher.defaultIterations == 600_000)
    }
}
