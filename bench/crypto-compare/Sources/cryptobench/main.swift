import COpenSSL
import Crypto
import _CryptoExtras
import Foundation

let password = Array("correct horse battery staple".utf8)
let salt = Array(repeating: UInt8(7), count: 16)
let iterations = 600_000

func openssl() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    password.withUnsafeBufferPointer { p in
        p.withMemoryRebound(to: CChar.self) { pc in
            _ = PKCS5_PBKDF2_HMAC(pc.baseAddress, Int32(pc.count), salt, Int32(salt.count), Int32(iterations), EVP_sha256(), 32, &out)
        }
    }
    return out
}

func swiftCrypto() -> [UInt8] {
    let key = try! KDF.Insecure.PBKDF2.deriveKey(from: password, salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
    return key.withUnsafeBytes { Array($0) }
}

func time(_ name: String, _ body: () -> [UInt8]) -> [UInt8] {
    var best = Double.infinity
    var result: [UInt8] = []
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        result = body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    print("\(name): best of 5 = \(String(format: "%.1f", best)) ms per PBKDF2-SHA256 at \(iterations)")
    return result
}
let which = CommandLine.arguments.dropFirst().first ?? "both"
if which != "swift" { _ = time("OpenSSL PKCS5_PBKDF2_HMAC", openssl) }
if which != "openssl" { _ = time("swift-crypto KDF.Insecure.PBKDF2", swiftCrypto) }
if which == "both" { print("equal:", openssl() == swiftCrypto()) }
// SHA-256 and HMAC throughput on 64-byte inputs
let data = Array(repeating: UInt8(1), count: 64)
var n = 0
var start = DispatchTime.now().uptimeNanoseconds
for _ in 0..<200_000 { n &+= Int(SHA256.hash(data: data).withUnsafeBytes { $0[0] }) }
print("swift-crypto SHA256 64B: \(Double(DispatchTime.now().uptimeNanoseconds - start) / 200_000) ns")
start = DispatchTime.now().uptimeNanoseconds
var digest = [UInt8](repeating: 0, count: 32)
for _ in 0..<200_000 { _ = SHA256(data, 64, &digest); n &+= Int(digest[0]) }
print("OpenSSL SHA256() 64B: \(Double(DispatchTime.now().uptimeNanoseconds - start) / 200_000) ns \(n)")
