import BankCrypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The server secret that keys the stored hashes of one-time codes: a challenge stores
/// HMAC-SHA256(key, "challenge id:code"), never the code nor a plain hash of it. A six-digit code has only a
/// million values, so a plain hash in a stolen copy of the database would be reversed in a second; with the key
/// kept outside the database, the copy alone is useless for guessing codes.
///
/// The key comes from `BANKHUB_CODE_KEY` (64 hex characters, 32 bytes) when set; otherwise from a file, created on
/// first start with 32 bytes from the CSPRNG and mode 0600: `--code-key-file`, or `<database>.code-key` next to
/// the SQLite database. A hub on PostgreSQL needs one of the first two (never a key in the database itself).
/// A new key only invalidates the codes pending at that moment (they live at most 15 minutes).
struct CodeKey: Sendable {
    static let byteCount = 32
    private let bytes: [UInt8]

    init(bytes: [UInt8]) {
        precondition(bytes.count >= Self.byteCount, "a code key has at least 32 bytes")
        self.bytes = bytes
    }

    func mac(challenge: String, code: String) -> [UInt8] {
        HMAC.authenticate(Array("\(challenge):\(code)".utf8), key: bytes)
    }

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// The key from `hex` (the environment variable) when given, else from the key `file`, created when
    /// missing. Refuses a malformed key and a key file that others than its owner may read.
    static func load(hex: String?, file: String?) throws(LoadError) -> CodeKey {
        if let hex { return try parse(hex, source: "BANKHUB_CODE_KEY") }
        guard let path = file else { throw LoadError(description: "no code key: set BANKHUB_CODE_KEY or a key file") }
        if let created = try create(at: path) { return created }
        let text: String
        do {
            text = try PrivateKeyFile.read(path, what: "code key")
        } catch {
            throw LoadError(description: error.description)
        }
        return try parse(text, source: path)
    }

    private static func parse(_ hex: String, source: String) throws(LoadError) -> CodeKey {
        guard hex.count == 2 * byteCount, let bytes = Hex.decode(hex) else {
            throw LoadError(description: "\(source) must be \(2 * byteCount) hex characters (\(byteCount) bytes)")
        }
        return CodeKey(bytes: bytes)
    }

    /// Creates the key file with a fresh key, readable by its owner only; nil when it already exists.
    private static func create(at path: String) throws(LoadError) -> CodeKey? {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor < 0 {
            guard errno == EEXIST else { throw LoadError(description: "cannot create the code key file \(path): errno \(errno)") }
            return nil
        }
        defer { close(descriptor) }
        let bytes = SecureRandom.bytes(byteCount)
        let line = Array((Hex.encode(bytes) + "\n").utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw LoadError(description: "cannot write the code key file \(path): errno \(errno)")
        }
        return CodeKey(bytes: bytes)
    }
}
