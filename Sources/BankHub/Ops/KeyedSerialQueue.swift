import Synchronization

/// Runs the work queued under one key one after another, in the order it was queued; work under different
/// keys runs side by side. The hub uses it per user, so that a change checked against what a reader sees
/// (a count, a duplicate, the current profile) commits before the next change of that user is checked.
///
/// Used where the change is written by the `EventSequencer`, whose jobs must not fail for business reasons:
/// every check has to happen before the job, against a state no other change of the same user can alter.
final class KeyedSerialQueue<Key: Hashable & Sendable>: Sendable {
    private struct State {
        /// Per key, the last work queued (with a number to recognise it); gone once it finished.
        var tails: [Key: (number: UInt64, done: Task<Void, Never>)] = [:]
        var queued: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Runs `work` after every work queued under `key` before it has finished (succeeded or thrown).
    func run<T: Sendable>(_ key: Key, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let (number, task) = state.withLock { state in
            let previous = state.tails[key]?.done
            let task = Task {
                await previous?.value
                return try await work()
            }
            state.queued += 1
            state.tails[key] = (state.queued, Task { _ = try? await task.value })
            return (state.queued, task)
        }
        defer {
            state.withLock { state in
                if state.tails[key]?.number == number { state.tails[key] = nil }
            }
        }
        return try await task.value
    }

    /// Keys with work queued or running (for tests: 0 once everything finished).
    var busyKeys: Int { state.withLock { $0.tails.count } }
}
