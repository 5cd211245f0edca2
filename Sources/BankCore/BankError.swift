/// Stable error codes shared by the protocol, the docs (`docs/protocol.md`) and the tests.
///
/// The raw value is what goes on the wire; never rename one. Add new codes at the end.
public enum ErrorCode: String, Sendable, CaseIterable, Hashable {
    case badRequest = "bad_request"
    case unauthorized = "unauthorized"
    case forbidden = "forbidden"
    case notFound = "not_found"
    case conflict = "conflict"
    case invalidAmount = "invalid_amount"
    case insufficientFunds = "insufficient_funds"
    case sameAccount = "same_account"
    case tooLarge = "too_large"
    case rateLimited = "rate_limited"
    case resyncRequired = "resync_required"
    case unavailable = "unavailable"
    case internalError = "internal"
    case accountLocked = "account_locked"
    case otpRequired = "otp_required"
    case otpInvalid = "otp_invalid"
    case otpExpired = "otp_expired"
    /// Too many wrong one-time codes (or second-factor passwords) for one user: every code check of that user is
    /// refused, even a right code, until `retry_after` seconds pass.
    case tooManyAttempts = "too_many_attempts"
}

/// An operating error: something the caller asked for that cannot be done. Programmer errors are assertions.
///
/// `message` is for people and may change; `code` is stable. The optional fields travel in the error object.
public struct BankError: Error, Sendable, Equatable {
    public var code: ErrorCode
    public var message: String
    /// The argument that was wrong (`bad_request`, `conflict` on an idempotency key).
    public var field: String?
    /// Seconds after which a `rate_limited` or `too_many_attempts` request may be retried.
    public var retryAfterSeconds: Int?
    /// The OTP challenge id of an `otp_required` answer.
    public var challenge: String?
    /// When that challenge expires (RFC 3339).
    public var expiresAt: String?
    /// True when the operation may have happened after all: storage lost its connection (or its disk) during the
    /// COMMIT. Such a failure must not be retried blindly (only with the same idempotency key). Not on the wire:
    /// the message says so to people; code tests this instead of reading the message.
    public var outcomeUnknown: Bool

    public init(_ code: ErrorCode, _ message: String, field: String? = nil,
                retryAfterSeconds: Int? = nil, challenge: String? = nil, expiresAt: String? = nil,
                outcomeUnknown: Bool = false) {
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
        self.challenge = challenge
        self.expiresAt = expiresAt
        self.outcomeUnknown = outcomeUnknown
    }

    public static func badRequest(_ message: String, field: String? = nil) -> BankError {
        BankError(.badRequest, message, field: field)
    }

    public static func notFound(_ message: String) -> BankError {
        BankError(.notFound, message)
    }
}
