import BankCore
import Synchronization

/// Puts the service-request queue in order in memory, so that each change of a request can be written in
/// one commit together with its `request` events.
///
/// Events are written by the `EventSequencer` in a job that must not fail for business reasons (a failing
/// job stops the process), and their data, which names the request, is fixed before the job runs. So every
/// check happens here first: the hub picks a new request's id itself (above any id committed or handed out),
/// counts a user's filings still in flight against the pending limit, and lets only one resolution of a
/// request run at a time. The hub is the database's only writer, so in-memory order is enough; the
/// `WHERE status = 'pending'` of `ServiceRequestRecords.resolve` stays as the last guard.
final class ServiceRequestGate: Sendable {
    /// Pending requests one user may have at once; past this, `request_create` is `conflict`.
    static let pendingPerUserMax = 20

    private struct State {
        /// The highest id handed out by this process.
        var lastID: Int64 = 0
        /// Requests whose resolution (approve, reject, cancel) is under way.
        var resolving: Set<Int64> = []
        /// Per user, how many `request_create` are between their check and their commit.
        var filing: [UserID: Int] = [:]
    }

    private let state = Mutex(State())

    /// Starts a filing for `user`; returns how many of the user's filings are under way, this one included.
    /// Every call is paired with `endFiling` once the filing is committed or refused.
    func beginFiling(_ user: UserID) -> Int {
        state.withLock { state in
            let count = state.filing[user, default: 0] + 1
            state.filing[user] = count
            return count
        }
    }

    func endFiling(_ user: UserID) {
        state.withLock { state in
            guard let count = state.filing[user] else { preconditionFailure("endFiling without beginFiling") }
            state.filing[user] = count > 1 ? count - 1 : nil
        }
    }

    /// A fresh request id: above `committedLast` (the highest id in the database, as read just before) and
    /// above every id this process handed out, committed yet or not.
    func nextID(committedLast: Int64) -> Int64 {
        precondition(committedLast >= 0, "ids are never negative")
        return state.withLock { state in
            state.lastID = max(state.lastID, committedLast) + 1
            return state.lastID
        }
    }

    /// Claims request `id` for one resolution; false when another one is under way.
    func beginResolving(_ id: Int64) -> Bool {
        state.withLock { state in state.resolving.insert(id).inserted }
    }

    func endResolving(_ id: Int64) {
        state.withLock { state in
            let removed = state.resolving.remove(id)
            precondition(removed != nil, "endResolving without beginResolving")
        }
    }
}
