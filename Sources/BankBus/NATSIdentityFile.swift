import Glibc

/// A file that proves a client's identity to NATS by signing the server's nonce (decentralized auth): the secret
/// stays in the file and never crosses the wire. libnats reads the file itself on every connect; the hub reads
/// it once at start to check it (and, for a seed, to derive the public key libnats must announce). Messages name
/// the file by its path only, never its content.
public enum NATSIdentityFile: Sendable, Equatable {
    /// A file holding a user NKey seed (`SU…`, e.g. from `nk -gen user`): the server lists the user's public key
    /// (`authorization { users = [ { nkey: U… } ] }`). `natsOptions_SetNKeyFromSeed`.
    case nkeySeed(path: String)
    /// A `.creds` file (the user's JWT and its NKey seed, from `nsc`), for a server in operator mode.
    /// `natsOptions_SetUserCredentialsFromFiles`; libnats parses it.
    case credentials(path: String)

    /// Bytes an identity file may have (a seed is 58 characters, a `.creds` file well under 4 KiB).
    public static let bytesMax = 64 << 10

    public var path: String {
        switch self {
        case .nkeySeed(let path), .credentials(let path): path
        }
    }

    /// What the file is, for messages.
    var kind: String {
        switch self {
        case .nkeySeed: "the NKey seed file"
        case .credentials: "the credentials file"
        }
    }

    /// Checks that the file can be used: a readable regular file of at most ``bytesMax`` bytes that neither
    /// its group nor others may read (mode 0600 or 0400: it holds a private key), and for a seed file a user
    /// seed with a valid checksum. Returns the seed's public key (`U…`), nil for a credentials file. Throws
    /// `.invalidConfiguration` naming the file, never its content.
    public func check() throws(BusError) -> String? {
        var text = try Self.readPrivate(path, kind: kind)
        defer { NKey.wipe(&text) }
        guard case .nkeySeed = self else { return nil }
        do {
            return try NKey.userPublicKey(fromSeed: text)
        } catch {
            throw BusError(.invalidConfiguration, "the NKey seed file \(path) does not hold a user seed: \(error)")
        }
    }

    /// The file's bytes (the caller zeroes them after use), refused when it is not a regular file, cannot be
    /// read, is too long, or its group or others may read it.
    private static func readPrivate(_ path: String, kind: String) throws(BusError) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw BusError(.invalidConfiguration, "cannot read \(kind) \(path): no such file")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw BusError(.invalidConfiguration, "\(kind) \(path) may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it: it holds a private key")
        }
        guard status.st_size <= bytesMax else {
            throw BusError(.invalidConfiguration, "\(kind) \(path) is longer than \(bytesMax) bytes")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw BusError(.invalidConfiguration, "cannot read \(kind) \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: bytesMax + 1)
        defer { NKey.wipe(&bytes) }
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + count, $0.count - count) }
            guard got >= 0 else {
                if errno == EINTR { continue }
                throw BusError(.invalidConfiguration, "cannot read \(kind) \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            count += got
        }
        guard count <= bytesMax else {
            throw BusError(.invalidConfiguration, "\(kind) \(path) is longer than \(bytesMax) bytes")
        }
        return Array(bytes[..<count])
    }
}
