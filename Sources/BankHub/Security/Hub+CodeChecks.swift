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
    /// With several hubs, a known user's checks are reserved in the database before they run
    /// (`sharedCheckingCode`), so the limit holds across hubs, checks under way on every hub included; wrong codes
    /// for unknown usernames are counted per hub (such a name has no code to guess).
    nonisolated func checkingCode<T: Sendable>(_ subject: CodeSubject, username: String?, ip: String?,
                                               _ check: () async throws -> T) async throws -> T {
        if configuration.severalHubs, case .user(let user) = subject {
            return try await sharedCheckingCode(user, subject, username: username, ip: ip, check)
        }
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

    /// `checkingCode` of a known user with several hubs: one writer commit reserves the check
    /// (`SecurityRecords.reserveCodeCheck`: under the user's row lock, a wrong code stored before the check runs,
    /// refused when the user's wrong codes and checks under way in the window, on every hub, reach the limit).
    /// A wrong code keeps the row; a right code, or a check that failed otherwise, deletes it in a second commit.
    /// A hub that dies mid-check leaves the row: that check counts as wrong, which errs on the side of the limit.
    /// Costs two commits per right code and one per wrong code, only on code checks.
    private nonisolated func sharedCheckingCode<T: Sendable>(_ user: UserID, _ subject: CodeSubject, username: String?,
                                                             ip: String?, _ check: () async throws -> T) async throws -> T {
        let policy = security.policy
        let limit = policy.codeFailuresMax, window = policy.codeFailureWindowMilliseconds
        let now = Clock.now(), since = Timestamp(milliseconds: now.milliseconds - window)
        let (reserved, failures) = try await services.writer.writeRetryingRaces { db in
            try SecurityRecords.reserveCodeCheck(db, user: user, at: now, since: since, limit: limit)
        }
        guard let reserved else {
            reportCodeBruteForce(subject, username: username, ip: ip,
                                 detail: "code checks for \(username ?? "?") refused: \(limit) wrong codes within "
                                     + "\(policy.codeFailureWindowMinutes) minutes")
            // The count falls below the limit when the limit-th newest failure leaves the window.
            let wait = failures.count >= limit ? failures[limit - 1].milliseconds + window - now.milliseconds : 1_000
            let seconds = max(1, Int((wait + 999) / 1_000))
            throw BankError(.tooManyAttempts, "too many wrong codes; try again in \(seconds) s", retryAfterSeconds: seconds)
        }
        do {
            let result = try await check()
            await releaseCodeCheck(reserved)
            return result
        } catch let wrong as WrongCode {
            // Those in the window when it was reserved, and this one; others may have joined since.
            let failures = failures.count + 1
            if failures >= limit {
                reportCodeBruteForce(subject, username: username, ip: ip,
                                     detail: "\(failures) wrong codes for \(username ?? "?") within "
                                         + "\(policy.codeFailureWindowMinutes) minutes; code checks refused")
            }
            throw wrong.error
        } catch {
            await releaseCodeCheck(reserved)
            throw error
        }
    }

    /// Deletes a check's reserved failure; if the database cannot be reached the row stays and counts as a wrong
    /// code until it leaves the window (the limit is never loosened by a fault).
    private nonisolated func releaseCodeCheck(_ id: Int64) async {
        _ = try? await services.writer.writeRetryingRaces { db in try SecurityRecords.releaseCodeCheck(db, id: id) }
    }

    /// At most one `code_brute_force` threat a minute per subject.
    private nonisolated func reportCodeBruteForce(_ subject: CodeSubject, username: String?, ip: String?,
                                                  detail: String) {
        guard security.mayRaise("code:\(subject)", now: Clock.nowMilliseconds()) else { return }
        let user: UserID? = if case .user(let id) = subject { id } else { nil }
        threats.report(.codeBruteForce, user: user, username: username, ip: ip, detail: detail)
    }
}
