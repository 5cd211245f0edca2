import BankCore
import BankCrypto
import BankStorage

/// Six-digit one-time codes from OpenSSL's CSPRNG, bound to a challenge that holds back an operation (a
/// large transfer, a change of contact) or a password reset.
///
/// Only HMAC-SHA256(code key, challenge id : code) is stored: the key lives outside the database (see `CodeKey`),
/// so a copy of the database alone does not let anyone try the million codes offline. A challenge allows
/// `attemptsMax` wrong codes, lives `lifetime`, is used at most once, and dies when a newer challenge of the same
/// user and purpose is issued. Wrong codes are also counted per user across challenges (see `Hub.checkingCode`).
final class OneTimeCodes: Sendable {
    enum Purpose: String, Sendable {
        case transfer, withdraw
        case passwordReset = "password_reset"
        /// A change of e-mail or phone (`update_profile`).
        case profile
    }

    struct Issued: Sendable {
        let challenge: String
        let code: String
        let expiresAt: Timestamp
    }

    private let writer: any StorageWriter
    private let attemptsMax: Int
    private let key: CodeKey

    init(writer: any StorageWriter, attemptsMax: Int, key: CodeKey) {
        precondition(attemptsMax > 0, "a challenge allows at least one try")
        self.writer = writer
        self.attemptsMax = attemptsMax
        self.key = key
    }

    /// A new challenge and its code; the user's pending challenges of the same purpose die in the same commit.
    func issue(for user: UserID, purpose: Purpose, payload: String, lifetimeSeconds: Int) async throws -> Issued {
        let challenge = Base64URL.encode(SecureRandom.bytes(18))
        let code = SecureRandom.numericCode(digits: 6)
        let now = Clock.now()
        let expiresAt = Timestamp(milliseconds: now.milliseconds + Int64(lifetimeSeconds) * 1_000)
        let record = ChallengeRecord(id: challenge, user: user, purpose: purpose.rawValue, payload: payload,
                                     codeHash: key.mac(challenge: challenge, code: code), attempts: 0,
                                     status: "pending", expiresAt: expiresAt)
        try await writer.write { db in
            try ChallengeRecords.retirePending(db, user: user, purpose: purpose.rawValue)
            try ChallengeRecords.insert(db, record, at: now)
        }
        return Issued(challenge: challenge, code: code, expiresAt: expiresAt)
    }

    /// Checks `code` against a challenge of `user` and marks it used; returns the held payload.
    /// `otp_invalid` for a wrong code, an unknown or used challenge; `otp_expired` once dead or past its time. A
    /// wrong code against a live challenge is thrown as `WrongCode`, so the caller counts it.
    func redeem(_ challengeID: String?, user: UserID, purposes: Set<Purpose>, code: String) async throws -> ChallengeRecord {
        precondition(challengeID != nil || purposes.count == 1, "a challenge is found by id, or by its one purpose")
        let purposeNames = Set(purposes.map(\.rawValue))
        let attemptsMax = self.attemptsMax
        let key = self.key
        // The body returns its refusal instead of throwing it, so that the counted failure is committed
        // rather than rolled back with the job's savepoint.
        let outcome = try await writer.write { db -> Result<ChallengeRecord, any Error> in
            let found = try challengeID.map { try ChallengeRecords.challenge(db, id: $0) }
                ?? ChallengeRecords.latestPending(db, user: user, purpose: purposeNames.first ?? "")
            guard let challenge = found, challenge.user == user, purposeNames.contains(challenge.purpose) else {
                return .failure(BankError(.otpInvalid, "no such challenge", field: "challenge"))
            }
            switch challenge.status {
            case "used": return .failure(BankError(.otpInvalid, "this challenge was already used", field: "challenge"))
            case "dead": return .failure(BankError(.otpExpired, "this challenge has expired, had too many wrong codes or was replaced by a newer one"))
            default: break
            }
            guard Clock.now() < challenge.expiresAt else {
                try ChallengeRecords.markDead(db, id: challenge.id)
                return .failure(BankError(.otpExpired, "this code has expired; start again"))
            }
            guard constantTimeEquals(key.mac(challenge: challenge.id, code: code), challenge.codeHash) else {
                let attempts = try ChallengeRecords.recordFailure(db, id: challenge.id, attemptsMax: attemptsMax)
                if attempts >= attemptsMax {
                    return .failure(WrongCode(BankError(.otpExpired, "too many wrong codes; the challenge is closed")))
                }
                return .failure(WrongCode(BankError(.otpInvalid, "wrong code; \(attemptsMax - attempts) tries left",
                                                    field: "code")))
            }
            guard try ChallengeRecords.markUsed(db, id: challenge.id) else {
                return .failure(BankError(.otpInvalid, "this challenge was already used", field: "challenge"))
            }
            return .success(challenge)
        }
        return try outcome.get()
    }
}
