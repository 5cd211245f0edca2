import BankCore
import Synchronization
import WebSocketTransport

/// The hub's memory of recent behaviour: token buckets per connection, user and address; failed logins per
/// user and address; transfers per account per minute. Bounded (see `RateLimiter` and `FailureWindow`), in
/// memory only: a restart forgives, while locks themselves are stored.
final class SecurityGuard: Sendable {
    private struct State {
        var connections: RateLimiter<ConnectionID>
        var users: RateLimiter<UserID>
        var addresses: RateLimiter<String>
        var authByAddress: RateLimiter<String>
        var userFailures: FailureWindow<String>
        var addressFailures: FailureWindow<String>
        var transfers: FailureWindow<AccountID>
        var threatsSent: FailureWindow<String>
    }

    let policy: SecurityPolicy
    private let state: Mutex<State>

    init(policy: SecurityPolicy) {
        self.policy = policy
        let window = policy.failureWindowMilliseconds
        state = Mutex(State(
            connections: RateLimiter(limit: policy.connectionRate), users: RateLimiter(limit: policy.userRate),
            addresses: RateLimiter(limit: policy.addressRate), authByAddress: RateLimiter(limit: policy.authRate),
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
            if op.rateClass == .signIn, let wait = state.authByAddress.take(address, now: now) { return (wait, "sign-in") }
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
