import ArgumentParser
import BankCore
import BankHub
import Foundation

/// `bankhub serve` flags for the login defence, rate limits, step-up codes, TLS and origins. Defaults are
/// the ones documented in docs/protocol.md.
struct SecurityOptions: ParsableArguments {
    @Flag(help: "Turn every rate limit off (for benchmarks).") var noRateLimits = false
    @Option(help: "Requests per second per connection (burst: twice that).") var rateConnection = 1_000.0
    @Option(help: "Requests per second per user (burst: twice that).") var rateUser = 2_000.0
    @Option(help: "Requests per second per IP address (burst: twice that).") var rateIp = 5_000.0
    @Option(help: "signup, login, forgot_password, reset_password, change_password and totp_enroll per minute per IP address.")
    var rateAuthPerMinute = 120.0
    @Option(help: "Password hashes (signup, login, reset_password, change_password, totp_enroll) per minute per IP address.")
    var rateHashPerMinute = 60.0
    @Option(help: "Password hashes (change_password, totp_enroll) per minute per logged-in user.")
    var rateHashUserPerMinute = 10.0
    @Option(help: "Wrong one-time codes of one user within an hour past which all its code checks are refused.")
    var codeFailures = 10
    @Option(help: "Seconds a connection may stay anonymous (from opening or from the end of its session) before it is closed with 4001.")
    var anonymousSeconds = 30
    @Option(help: "Failed logins within 15 minutes that lock a user.") var lockoutFailures = 5
    @Option(help: "Minutes a user stays locked after too many failed logins.") var lockoutMinutes = 15
    @Option(help: "What ends a lock after too many failed logins: cooldown (--lockout-minutes) or admin (unlock_user only).")
    var lockoutRelease = "cooldown"
    @Option(help: "Transfers and withdrawals of at least this amount need a one-time code.") var otpThreshold = "1000.00"
    @Flag(help: "Also ask for a code on the first transfer to a new payee.") var otpNewPayee = false
    @Option(help: "Transfers from one account in a minute that raise a transfer_burst threat.") var burstTransfers = 20
    @Option(help: "PEM certificate: serve https and wss.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "A browser Origin allowed to open WebSockets besides the hub's own (repeatable).")
    var allowedOrigin: [String] = []

    func apply(to options: inout HubServer.Options) throws {
        var policy = SecurityPolicy()
        policy.rateLimitsEnabled = !noRateLimits
        policy.connectionRate = .init(ratePerSecond: rateConnection, capacity: rateConnection * 2)
        policy.userRate = .init(ratePerSecond: rateUser, capacity: rateUser * 2)
        policy.addressRate = .init(ratePerSecond: rateIp, capacity: rateIp * 2)
        policy.authRate = .perMinute(rateAuthPerMinute, burst: rateAuthPerMinute)
        policy.passwordHashAddressRate = .perMinute(rateHashPerMinute, burst: rateHashPerMinute)
        policy.passwordHashUserRate = .perMinute(rateHashUserPerMinute, burst: rateHashUserPerMinute)
        guard codeFailures > 0 else { throw ValidationError("--code-failures must be positive") }
        policy.codeFailuresMax = codeFailures
        guard anonymousSeconds > 0 else { throw ValidationError("--anonymous-seconds must be positive") }
        options.hub.anonymousConnectionMillisecondsMax = anonymousSeconds * 1_000
        policy.lockoutFailures = lockoutFailures
        policy.lockoutMinutes = lockoutMinutes
        guard let release = SecurityPolicy.LockoutRelease(rawValue: lockoutRelease) else {
            throw ValidationError("--lockout-release must be cooldown or admin")
        }
        policy.lockoutRelease = release
        policy.otpThreshold = try Money.parseAmount(otpThreshold, field: "--otp-threshold")
        policy.otpNewPayee = otpNewPayee
        policy.burstTransfersPerMinute = burstTransfers
        options.hub.security = policy
        options.hub.adminKey = AdminKey(secret: ProcessInfo.processInfo.environment["BANKHUB_ADMIN_KEY"])
        // The key of stored code hashes; without it, a key file next to the database (docs/security.md).
        options.hub.codeKeyHex = ProcessInfo.processInfo.environment["BANKHUB_CODE_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        options.transport.tlsCertificatePath = tlsCert
        options.transport.tlsPrivateKeyPath = tlsKey
        options.transport.allowedOrigins = allowedOrigin
    }

    var scheme: String { tlsCert == nil ? "http" : "https" }
}
