import BankCore
import BankCrypto
import BankWire

/// The admin step-up: state-changing admin ops need the admin key (its SHA-256 is all the hub keeps) or,
/// once the admin enrolled TOTP, a current code.
public struct AdminKey: Sendable {
    let hash: [UInt8]?

    /// Keeps only the SHA-256 of `secret`; nil or empty means no admin key (TOTP is then the only step-up).
    public init(secret: String?) {
        hash = secret.flatMap { $0.isEmpty ? nil : SHA256.hash($0) }
    }

    func matches(_ candidate: String) -> Bool {
        guard let hash else { return false }
        return constantTimeEquals(SHA256.hash(candidate), hash)
    }
}

extension Hub {
    func checkStepUp(_ args: Arguments, session: Session) async throws(BankError) {
        if let key = try args.optionalString("admin_key"), configuration.adminKey.matches(key) { return }
        if let code = try args.optionalString("totp"), await totp.accepts(code, for: session.user.id) { return }
        throw BankError(.forbidden, "this admin op needs admin_key (BANKHUB_ADMIN_KEY) or a current totp code",
                        field: args.has("admin_key") ? "admin_key" : "totp")
    }
}
