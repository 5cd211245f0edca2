import BankCore
import BankCrypto
import BankWire
import WebSocketTransport

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
    /// A state-changing admin op: its step-up is checked off the shared loop (a TOTP code is marked used in a
    /// commit), then the op is dispatched again, its permission checked again: the role may have changed while
    /// the code was being checked.
    func stepUp(_ request: Request, from id: ConnectionID, responder: Responder) throws(BankError) {
        let session = try session(of: id)
        let address = connections[id]?.info.peerAddress
        Task {
            do throws(BankError) {
                try await self.checkStepUp(request.args, session: session, ip: address)
                try await self.dispatch(request, from: id, responder: responder, steppedUp: true)
            } catch {
                responder.fail(error)
            }
        }
    }

    /// `admin_key` or a current `totp`; a wrong one counts toward the admin's `too_many_attempts` limit, past
    /// which even a right one is refused.
    func checkStepUp(_ args: Arguments, session: Session, ip: String?) async throws(BankError) {
        let key = try args.optionalString("admin_key")
        let code = try args.optionalString("totp")
        let refusal = BankError(.forbidden, "this admin op needs admin_key (BANKHUB_ADMIN_KEY) or a current totp code",
                                field: key != nil ? "admin_key" : "totp")
        guard key != nil || code != nil else { throw refusal }
        let user = session.user
        do {
            try await checkingCode(.user(user.id), username: user.username, ip: ip) { [configuration, totp] in
                if let key, configuration.adminKey.matches(key) { return }
                if let code, await totp.accepts(code, for: user.id) { return }
                throw WrongCode(refusal)
            }
        } catch {
            throw Self.bankError(error)
        }
    }
}
