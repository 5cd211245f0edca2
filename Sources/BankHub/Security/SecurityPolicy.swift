import BankCore

/// Thresholds of the login defence, rate limits, step-up codes and threat detection. Each is a flag of
/// `bankhub serve` with the default documented in docs/protocol.md.
public struct SecurityPolicy: Sendable {
    public var rateLimitsEnabled = true
    public var connectionRate = TokenBucket.Limit(ratePerSecond: 1_000, capacity: 2_000)
    public var userRate = TokenBucket.Limit(ratePerSecond: 2_000, capacity: 4_000)
    public var addressRate = TokenBucket.Limit(ratePerSecond: 5_000, capacity: 10_000)
    /// `sign_in` and `password_hash` ops (signup, login, forgot_password, reset_password, change_password,
    /// totp_enroll) per address.
    public var authRate = TokenBucket.Limit.perMinute(120, burst: 120)
    /// Password hashes (PBKDF2, about 140 ms of a core each) per address: `password_hash` ops.
    public var passwordHashAddressRate = TokenBucket.Limit.perMinute(60, burst: 60)
    /// Password hashes per logged-in user (change_password, totp_enroll), whatever the address.
    public var passwordHashUserRate = TokenBucket.Limit.perMinute(10, burst: 10)

    /// Failed logins of one user within `failureWindowMinutes` that lock it.
    public var lockoutFailures = 5
    /// Failed logins from one address within the window after which its logins are refused.
    public var addressFailuresMax = 20
    public var failureWindowMinutes = 15
    /// How long a lock caused by failures lasts (admin locks last until unlocked).
    public var lockoutMinutes = 15
    /// What ends a lock caused by failures: the cool-down of `lockoutMinutes` (the default), or only an admin.
    public var lockoutRelease = LockoutRelease.coolDown

    public enum LockoutRelease: String, Sendable, CaseIterable {
        /// The user is unlocked after `lockoutMinutes`, or earlier by an admin.
        case coolDown = "cooldown"
        /// The user stays locked until an admin runs `unlock_user`.
        case admin
    }

    /// When a lock caused by failures at `now` ends by itself: nil when only an admin can end it.
    func lockoutEnd(now: Int64) -> Timestamp? {
        switch lockoutRelease {
        case .coolDown: Timestamp(milliseconds: now + Int64(lockoutMinutes) * 60_000)
        case .admin: nil
        }
    }

    /// Transfers and withdrawals of at least this need a one-time code.
    public var otpThreshold = Money(cents: 100_000)
    /// Also challenge the first transfer to an account the user never paid before.
    public var otpNewPayee = false
    public var otpLifetimeSeconds = 300
    public var otpAttemptsMax = 3
    /// Wrong codes of one user, over every flow (step-up codes, reset codes, TOTP at login and at the admin
    /// step-up, the password and code that replace a second factor, change_password's old password), within
    /// `codeFailureWindowMinutes`, past which every code check of that user answers `too_many_attempts`.
    public var codeFailuresMax = 10
    public var codeFailureWindowMinutes = 60

    /// Transfers from one account in a minute above which a `transfer_burst` threat is raised.
    public var burstTransfersPerMinute = 20

    public init() {}

    var failureWindowMilliseconds: Int64 { Int64(failureWindowMinutes) * 60_000 }
    var codeFailureWindowMilliseconds: Int64 { Int64(codeFailureWindowMinutes) * 60_000 }
}
