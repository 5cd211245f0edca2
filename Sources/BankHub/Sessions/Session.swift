import BankCore
import BankStorage

/// An authenticated session: who, which token (by its hash), until when.
struct Session: Sendable {
    let user: UserRecord
    let tokenHash: [UInt8]
    let expiresAt: Timestamp

    func isValid(at now: Timestamp) -> Bool { now < expiresAt && user.status == .active }
}
