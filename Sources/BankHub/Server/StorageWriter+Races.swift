import BankCore
import BankStorage

extension StorageWriter {
    /// How often `writeRetryingRaces` runs a job again.
    static var raceRetriesMax: Int { 4 }

    /// `write`, run again (at most `raceRetriesMax` more times, 10 ms apart doubling) when its job surely did not
    /// commit because it lost a race: `unavailable` without `outcomeUnknown`, which the PostgreSQL writer answers
    /// for a deadlock it broke or a serialization failure (and for a lost connection). Hubs on one database take
    /// a user's row lock in per-user limits (`UserRecords.lockForCounting`) inside group commits that hold other
    /// rows' locks, so two hubs' batches can deadlock; the loser's job is worth one more try rather than an
    /// `unavailable` answer. Only for jobs that are safe to run twice when the first did not commit.
    func writeRetryingRaces<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await write(body)
            } catch let error as BankError where error.code == .unavailable && !error.outcomeUnknown
                && attempt < Self.raceRetriesMax {
                try await Task.sleep(for: .milliseconds(10 << attempt))
                attempt += 1
            }
        }
    }
}
