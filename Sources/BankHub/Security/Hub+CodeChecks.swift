import BankCore
import BankStorage

/// A code (or the password that guards a second factor) that was checked and is wrong: counted toward the
/// user's `too_many_attempts` limit, then answered with `error`. Other errors of a check are not counted.
struct WrongCode: Error {
    let error: BankError

    init(_ error: BankError) { self.error = error }
}

/// The per-user limit on wrong codes, across every flow that checks one: `confirm_otp`, `reset_password`, TOTP at
/// `login`, the admin step-up, `totp_enroll` and `totp_confirm`, and `change_password`'s old password.
extension Hub {
    /// Runs `check` as one code check of `subject` (`username` names it in threats):
    /// - past `codeFailuresMax` wrong codes within the window the check does not run at all and the answer is
    ///   `too_many_attempts` with `retry_after`, also for a right code, with a `code_brute_force` threat;
    /// - a `WrongCode` thrown by `check` is counted and its error thrown; the threat is raised when the count
    ///   reaches the limit.
    nonisolated func checkingCode<T: Sendable>(_ subject: CodeSubject, username: String?, ip: String?,
                                               _ check: () async throws -> T) async throws -> T {
        let limit = security.policy.codeFailuresMax
        if let wait = security.beginCodeCheck(subject, now: Clock.nowMilliseconds()) {
            reportCodeBruteForce(subject, username: username, ip: ip,
                                 detail: "code checks for \(username ?? "?") refused: \(limit) wrong codes within "
                                     + "\(security.policy.codeFailureWindowMinutes) minutes")
            throw BankError(.tooManyAttempts, "too many wrong codes; try again in \(wait) s", retryAfterSeconds: wait)
        }
        do {
            let result = try await check()
            security.endCodeCheck(subject, failed: false, now: Clock.nowMilliseconds())
            return result
        } catch let wrong as WrongCode {
            let failures = security.endCodeCheck(subject, failed: true, now: Clock.nowMilliseconds())
            if failures >= limit {
                reportCodeBruteForce(subject, username: username, ip: ip,
                                     detail: "\(failures) wrong codes for \(username ?? "?") within "
                                         + "\(security.policy.codeFailureWindowMinutes) minutes; code checks refused")
            }
            throw wrong.error
        } catch {
            security.endCodeCheck(subject, failed: false, now: Clock.nowMilliseconds())
            throw error
        }
    }

    /// At most one `code_brute_force` threat a minute per subject.
    private nonisolated func reportCodeBruteForce(_ subject: CodeSubject, username: String?, ip: String?,
                                                  detail: String) {
        guard security.mayRaise("code:\(subject)", now: Clock.nowMilliseconds()) else { return }
        let user: UserID? = if case .user(let id) = subject { id } else { nil }
        threats.report(.codeBruteForce, user: user, username: username, ip: ip, detail: detail)
    }
}
