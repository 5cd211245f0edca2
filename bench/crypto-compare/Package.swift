// swift-tools-version:6.0
// Compares PBKDF2-HMAC-SHA256 and SHA-256 in OpenSSL 3 (what BankCrypto used) and swift-crypto (what it uses).
// Run: cd bench/crypto-compare && swift build -c release && .build/release/cryptobench
import PackageDescription
let package = Package(name: "cryptobench",
  dependencies: [.package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")],
  targets: [
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl"),
    .executableTarget(name: "cryptobench", dependencies: ["COpenSSL", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]),
  ])
