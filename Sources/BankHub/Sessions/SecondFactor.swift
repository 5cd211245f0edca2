import BankCore
import BankCrypto
import BankStore

/// TOTP (RFC 6238: SHA-1, 6 digits, 30 s) as a second factor: enrolment, confirmation and checking a code,
/// each code accepted at most once.
final class SecondFactor: Sendable {
    private let writer: DatabaseWriter
    private let readers: DatabaseReaders
    static let issuer = "BankHub"

    init(writer: DatabaseWriter, readers: DatabaseReaders) {
        self.writer = writer
        self.readers = readers
    }

    /// A new secret for `user`, not active until `confirm` accepts a code made from it.
    func enroll(_ user: UserRecord) async throws -> (secret: String, uri: String) {
        let secret = TOTP.generateSecret()
        try await writer.write { db in try SecondFactorRecords.setSecret(db, user: user.id, secret: secret) }
        let totp = TOTP(secret: secret)
        return (Base32.encode(secret, padding: false), totp.provisioningURI(issuer: Self.issuer, account: user.username))
    }

    /// Activates the factor with a first code; false when the code is wrong.
    func confirm(_ code: String, for user: UserID) async -> Bool {
        await use(code, for: user, requireEnabled: false)
    }

    /// True when `user` has an active factor and `code` is current and unused.
    func accepts(_ code: String, for user: UserID) async -> Bool {
        await use(code, for: user, requireEnabled: true)
    }

    /// Whether `user` has an active factor (login then needs a code).
    func isEnabled(for user: UserID) async -> Bool {
        (try? await readers.read { db in try SecondFactorRecords.secondFactor(db, user: user)?.enabled }) == true
    }

    private func use(_ code: String, for user: UserID, requireEnabled: Bool) async -> Bool {
        let now = Clock.nowMilliseconds() / 1_000
        let result = try? await writer.write { db -> Bool in
            guard let factor = try SecondFactorRecords.secondFactor(db, user: user),
                  factor.enabled || !requireEnabled,
                  let step = TOTP(secret: factor.secret).matchingCounter(code: code, at: now, window: 1) else {
                return false
            }
            return try SecondFactorRecords.use(db, user: user, step: Int64(step))
        }
        return result == true
    }
}
