import BankCore
import BankCrypto
import BankStorage
import Synchronization

/// TOTP (RFC 6238: SHA-1, 6 digits, 30 s) as a second factor: enrolment, confirmation and checking a code,
/// each code accepted at most once.
///
/// A new secret waits in memory until `confirm` accepts a code made from it; only then is it stored, active, in
/// the same write that replaces the old one. So the factor in force stays in force until its replacement is
/// proven, and an abandoned enrolment changes nothing (a restart forgets it: enrol again).
final class SecondFactor: Sendable {
    private struct Pending {
        let secret: [UInt8]
        let expiresAt: Int64
    }

    private let writer: any StorageWriter
    private let readers: any StorageReaders
    private let pending = Mutex<[UserID: Pending]>([:])
    static let issuer = "BankHub"
    /// How long a new secret waits for its first code.
    static let enrolmentMillisecondsMax: Int64 = 10 * 60_000
    /// Enrolments waiting at once; past this the expired ones are dropped, then the oldest.
    static let pendingEnrolmentsMax = 10_000

    init(writer: any StorageWriter, readers: any StorageReaders) {
        self.writer = writer
        self.readers = readers
    }

    /// A new secret for `user`, not stored nor active until `confirm` accepts a code made from it. Replaces an
    /// enrolment of the user still waiting.
    func enroll(_ user: UserRecord) -> (secret: String, uri: String) {
        let secret = TOTP.generateSecret()
        let now = Clock.nowMilliseconds()
        pending.withLock { pending in
            if pending.count >= Self.pendingEnrolmentsMax, pending[user.id] == nil {
                pending = pending.filter { $0.value.expiresAt > now }
                if pending.count >= Self.pendingEnrolmentsMax,
                   let oldest = pending.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
                    pending[oldest.key] = nil
                }
            }
            pending[user.id] = Pending(secret: secret, expiresAt: now + Self.enrolmentMillisecondsMax)
        }
        let totp = TOTP(secret: secret)
        return (Base32.encode(secret, padding: false), totp.provisioningURI(issuer: Self.issuer, account: user.username))
    }

    /// Stores and activates the waiting secret when `code` comes from it; false when the code is wrong. Throws
    /// `otp_invalid` (not a wrong code: nothing was guessed) when no enrolment is waiting.
    func confirm(_ code: String, for user: UserID) async throws -> Bool {
        let now = Clock.nowMilliseconds()
        let waiting = pending.withLock { $0[user] }
        guard let waiting, waiting.expiresAt > now else {
            throw BankError(.otpInvalid, "no enrolment is waiting (or it expired): call totp_enroll first", field: "code")
        }
        guard let step = TOTP(secret: waiting.secret).matchingCounter(code: code, at: now / 1_000, window: 1) else {
            return false
        }
        try await writer.write { db in
            try SecondFactorRecords.activate(db, user: user, secret: waiting.secret, step: Int64(step))
        }
        pending.withLock { pending in
            if pending[user]?.secret == waiting.secret { pending[user] = nil }
        }
        return true
    }

    /// True when `user` has an active factor and `code` is current and unused.
    func accepts(_ code: String, for user: UserID) async -> Bool {
        let now = Clock.nowMilliseconds() / 1_000
        let result = try? await writer.write { db -> Bool in
            guard let factor = try SecondFactorRecords.secondFactor(db, user: user), factor.enabled,
                  let step = TOTP(secret: factor.secret).matchingCounter(code: code, at: now, window: 1) else {
                return false
            }
            return try SecondFactorRecords.use(db, user: user, step: Int64(step))
        }
        return result == true
    }

    /// Whether `user` has an active factor (login then needs a code).
    func isEnabled(for user: UserID) async -> Bool {
        (try? await readers.read { db in try SecondFactorRecords.secondFactor(db, user: user)?.enabled }) == true
    }
}
