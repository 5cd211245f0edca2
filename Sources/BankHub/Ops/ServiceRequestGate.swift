import BankCore
import Synchronization

/// Puts the service-request queue in order in memory, so that each change of a request can be written in
/// one commit together with its `request` events.
///
/// Events are written by the `EventSequencer` in a job that must not fail for business reasons (a failing
/// job stops the process), and their data, which names the request, is fixed before the job runs. So every
/// check happens first: a new request's id is reserved in the database (`IdentifierRecords`), this gate
/// runs one user's filings one after another (so each counts the pending requests of the one before it
/// exactly), and lets only one resolution of a request run at a time. Alone on a database, in-memory order is
/// enough. With several hubs it orders only this hub's: the filing's commit counts again under the user's row
/// lock (`ServiceRequestRecords.insert(_:_:pendingMax:)`) and a resolution is claimed in the database, each
/// refusing what another hub got to first; the `WHERE status = 'pending'` of `ServiceRequestRecords.resolve`
/// stays as the last guard.
final class ServiceRequestGate: Sendable {
    /// Pending requests one user may have at once; past this, `request_create` is `conflict`.
    static let pendingPerUserMax = 20

    private let filings = KeyedSerialQueue<UserID>()
    /// Requests whose resolution (approve, reject, cancel) is under way.
    private let resolving = Mutex<Set<Int64>>([])

    /// Runs `work` after every filing of `user` queued before it has finished (committed or refused), so its
    /// count of the user's pending requests includes all of them. Filings of different users run side by side.
    func filing<T: Sendable>(for user: UserID, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await filings.run(user, work)
    }

    /// Claims request `id` for one resolution; false when another one is under way.
    func beginResolving(_ id: Int64) -> Bool {
        resolving.withLock { $0.insert(id).inserted }
    }

    func endResolving(_ id: Int64) {
        resolving.withLock { resolving in
            let removed = resolving.remove(id)
            precondition(removed != nil, "endResolving without beginResolving")
        }
    }
}
