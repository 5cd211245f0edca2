import BankCore
import Synchronization
import WebSocketTransport

/// Who a code check is about: a user, or a username no user has (`reset_password` for an unknown name is counted
/// under that name, so that its answers do not tell which names exist).
enum CodeSubject: Hashable, Sendable {
    case user(UserID)
    case unknown(String)
}

/// The hub's memory of recent behaviour: token buckets per connection, user and address; failed logins per
/// user and address; wrong codes per user; transfers per account per minute. Bounded (see `RateLimiter` and
/// `FailureWindow`), in memory only: a restart forgives, while locks themselves are stored. With several hubs
/// on one database, a known user's failed logins and code checks are counted in the database instead (the hub
/// does not ask this guard about them), so they do not multiply by the number of hubs; everything else stays
/// per hub (docs/scaling.md "Per-user limits across hubs" says why each may).
final class SecurityGuard: Sendable {
    private struct State {
        var connections: RateLimiter<ConnectionID>
        var users: RateLimiter<UserID>
        var addresses: RateLimiter<String>
        var authByAddress: RateLimiter<String>
        var hashByAddress: RateLimiter<String>
        var hashByUser: RateLimiter<UserID>
        var codeFailures: FailureWindow<CodeSubject>
        /// Code checks begun and not yet finished, per subject: they count toward the limit while under way, so
        /// that many checks sent at once cannot all pass the limit before the first failure is counted.
        var codeChecksUnderWay: [CodeSubject: Int] = [:]
        var userFailures: FailureWindow<String>
        var addressFailures: FailureWindow<String>
        var transfers: FailureWindow<AccountID>
        var threatsSent: FailureWindow<String>
    }

    let policy: SecurityPolicy
    private let state: Mutex<State>

    init(policy: SecurityPolicy) {
        precondition(policy.codeFailuresMax > 0 && policy.codeFailureWindowMinutes > 0, "code limits must be positive")
        self.policy = policy
        let window = policy.failureWindowMilliseconds
        state = Mutex(State(
            connections: RateLimiter(limit: policy.connectionRate), users: RateLimiter(limit: policy.userRate),
            addresses: RateLimiter(limit: policy.addressRate), authByAddress: RateLimiter(limit: policy.authRate),
            hashByAddress: RateLimiter(limit: policy.passwordHashAddressRate),
            hashByUser: RateLimiter(limit: policy.passwordHashUserRate),
            codeFailures: FailureWindow(windowMilliseconds: policy.codeFailureWindowMilliseconds,
                                        eventsMax: max(64, policy.codeFailuresMax)),
            userFailures: FailureWindow(windowMilliseconds: window), addressFailures: FailureWindow(windowMilliseconds: window),
            transfers: FailureWindow(windowMilliseconds: 60_000, eventsMax: 1_024),
            threatsSent: FailureWindow(windowMilliseconds: 60_000, eventsMax: 2)))
    }

    /// nil when the request may go on; else the seconds to wait and which bucket refused.
    func admit(op: Op, connection: ConnectionID, user: UserID?, address: String, now: Int64) -> (Int, String)? {
        guard policy.rateLimitsEnabled else { return nil }
        return state.withLock { state in
            if let wait = state.connections.take(connection, now: now) { return (wait, "connection") }
            if let user, let wait = state.users.take(user, now: now) { return (wait, "user") }
            if let wait = state.addresses.take(address, now: now) { return (wait, "address") }
            guard op.rateClass != .standard else { return nil }
            if let wait = state.authByAddress.take(address, now: now) { return (wait, "sign-in") }
            guard op.rateClass == .passwordHash else { return nil }
            if let wait = state.hashByAddress.take(address, now: now) { return (wait, "password-hash") }
            if let user, let wait = state.hashByUser.take(user, now: now) { return (wait, "password-hash-user") }
            return nil
        }
    }

    func forget(connection: ConnectionID) {
        state.withLock { $0.connections.forget(connection) }
    }

    /// Counts a failed login; returns the failures of that username and of that address in the window.
    func recordLoginFailure(username: String, address: String, now: Int64) -> (user: Int, address: Int) {
        state.withLock { state in
            (state.userFailures.record(username, now: now), state.addressFailures.record(address, now: now))
        }
    }

    func clearFailures(username: String) {
        state.withLock { $0.userFailures.reset(username) }
    }

    /// Reserves one code check of `subject`: nil when it may go on (call `endCodeCheck` once it is decided), else
    /// the seconds until it may, because its wrong codes in the window plus its checks under way reached
    /// `codeFailuresMax`. Not switched off with the rate limits: this is what makes 6-digit codes unguessable.
    /// With several hubs a known user's checks are counted in the database instead (`Hub.checkingCode`).
    func beginCodeCheck(_ subject: CodeSubject, now: Int64) -> Int? {
        let limit = policy.codeFailuresMax
        return state.withLock { state in
            let underWay = state.codeChecksUnderWay[subject, default: 0]
            let failures = state.codeFailures.count(subject, now: now)
            guard failures + underWay >= limit else {
                state.codeChecksUnderWay[subject] = underWay + 1
                return nil
            }
            // Below the limit on failures alone, only checks under way are in the way: they end within seconds.
            guard failures >= limit else { return 1 }
            // The count falls below the limit when the limit-th newest failure leaves the window.
            let wait = state.codeFailures.millisecondsUntil(below: limit, subject, now: now)
            return max(1, Int((wait + 999) / 1_000))
        }
    }

    /// Ends a check begun with `beginCodeCheck`; a wrong code is counted. Returns the wrong codes of `subject` in
    /// the window.
    @discardableResult
    func endCodeCheck(_ subject: CodeSubject, failed: Bool, now: Int64) -> Int {
        state.withLock { state in
            let underWay = state.codeChecksUnderWay[subject, default: 0]
            precondition(underWay > 0, "endCodeCheck without beginCodeCheck")
            state.codeChecksUnderWay[subject] = underWay > 1 ? underWay - 1 : nil
            return failed ? state.codeFailures.record(subject, now: now) : state.codeFailures.count(subject, now: now)
        }
    }

    /// Forgives a user's wrong codes (an admin unlocked the user).
    func clearCodeFailures(_ subject: CodeSubject) {
        state.withLock { $0.codeFailures.reset(subject) }
    }

    /// Takes the failed logins of `address` in the window as the database counts them over every hub (times in
    /// ms), so that this hub refuses the address once they reach `addressFailuresMax` even if most happened
    /// elsewhere. Returns the address's failures in the window after.
    func adoptAddressFailures(_ address: String, stored: [Int64], now: Int64) -> Int {
        state.withLock { $0.addressFailures.adopt(address, times: stored, now: now) }
    }

    /// Whether an address has failed so often that its logins are refused for now.
    func isAddressBlocked(_ address: String, now: Int64) -> Bool {
        guard policy.rateLimitsEnabled else { return false }
        return state.withLock { $0.addressFailures.count(address, now: now) >= policy.addressFailuresMax }
    }

    /// Counts a transfer out of `account`; returns how many in the last minute.
    func recordTransfer(from account: AccountID, now: Int64) -> Int {
        state.withLock { $0.transfers.record(account, now: now) }
    }

    /// Whether a threat with this throttle key may be raised now (at most one a minute per key).
    func mayRaise(_ key: String, now: Int64) -> Bool {
        state.withLock { state in
            guard state.threatsSent.count(key, now: now) == 0 else { return false }
            _ = state.threatsSent.record(key, now: now)
            return true
        }
    }
}
