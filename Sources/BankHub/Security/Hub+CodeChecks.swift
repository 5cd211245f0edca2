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
    ///
    /// With several hubs, a user's wrong codes are counted in the database (`code_failures`), so the limit holds
    /// across hubs; wrong codes for unknown usernames and checks under way are counted per hub.
    nonisolated func checkingCode<T: Sendable>(_ subject: CodeSubject, username: String?, ip: String?,
                                               _ check: () async throws -> T) async throws -> T {
        let limit = security.policy.codeFailuresMax
        let shared: UserID? = if configuration.severalHubs, case .user(let id) = subject { id } else { nil }
        var stored: [Int64]?
        if let shared { stored = try await storedCodeFailures(of: shared) }
        if let wait = security.beginCodeCheck(subject, now: Clock.nowMilliseconds(), stored: stored) {
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
            var failures = security.endCodeCheck(subject, failed: true, now: Clock.nowMilliseconds())
            if let shared { failures = await recordSharedCodeFailure(of: shared) ?? failures }
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

    /// The user's wrong codes within the window as stored by every hub: times in ms, newest first, at most the
    /// limit (all `beginCodeCheck` needs).
    private nonisolated func storedCodeFailures(of user: UserID) async throws -> [Int64] {
        let policy = security.policy
        let since = Timestamp(milliseconds: Clock.nowMilliseconds() - policy.codeFailureWindowMilliseconds)
        return try await readers.read { db in
            try SecurityRecords.codeFailures(db, user: user, since: since, limit: policy.codeFailuresMax)
        }.map(\.milliseconds)
    }

    /// Stores one wrong code of `user` and returns the user's wrong codes in the window across hubs; nil when the
    /// database could not be reached (the caller keeps this hub's count).
    private nonisolated func recordSharedCodeFailure(of user: UserID) async -> Int? {
        let policy = security.policy
        let now = Clock.now()
        let since = Timestamp(milliseconds: now.milliseconds - policy.codeFailureWindowMilliseconds)
        do {
            try await services.writer.write { db in
                try SecurityRecords.recordCodeFailure(db, user: user, at: now, since: since)
            }
            return try await readers.read { db in
                try SecurityRecords.codeFailures(db, user: user, since: since, limit: policy.codeFailuresMax).count
            }
        } catch {
            return nil
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
