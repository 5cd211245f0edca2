import Foundation

/// A key kept as hex text in a file only its owner may read (the one-time-code key, the bus key).
enum PrivateKeyFile {
    /// The file's text, trimmed. Throws a description naming `what` ("code key", "bus key") when the
    /// file cannot be read or others than its owner may read it.
    static func read(_ path: String, what: String) throws(PrivateKeyFileError) -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PrivateKeyFileError(description: "cannot read the \(what) file \(path)")
        }
        guard mode & 0o077 == 0 else {
            throw PrivateKeyFileError(description: "the \(what) file \(path) may be read by others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why a private key file was refused.
struct PrivateKeyFileError: Error, CustomStringConvertible {
    let description: String
}
