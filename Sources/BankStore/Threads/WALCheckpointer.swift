import DedicatedThreads
import Foundation
import Synchronization

/// Copies committed WAL pages back into the database file on its own connection and thread, so the group
/// commit writer spends its time committing instead of checkpointing.
///
/// The writer's own automatic checkpoint stays on, at a higher threshold (`DatabaseWriter.walPagesMax`): it
/// is what resets the WAL to its start, and because this thread has already copied almost every frame by
/// then, that checkpoint is short. PASSIVE checkpoints never block the writer or readers, and each one
/// fsyncs the WAL before copying and the database file after, so durability is unchanged (see `WALSyncer`
/// for why this never loses a commit the syncer has not synced yet).
///
/// It opens its connection in `start()`, which the writer calls once it has created and migrated the
/// database: a connection opened on a new, empty file does not know the file is in WAL mode, and its
/// `PRAGMA wal_checkpoint` did nothing (it answered busy 0, log -1, checkpointed -1 for the life of the process,
/// and the WAL grew to `walPagesMax` between the writer's own checkpoints).
final class WALCheckpointer: Sendable {
    /// Least time between two passive checkpoints.
    static let intervalMilliseconds = 20

    private let path: String
    private let thread = Mutex<ConnectionThread<SQLiteConnection, Void>?>(nil)
    private let checkpointsEffective = CheckpointCount()

    init(path: String) {
        self.path = path
    }

    /// Opens the checkpointer's connection: call once, after the database is created and migrated.
    func start() throws {
        let checkpointsEffective = self.checkpointsEffective
        let started = try ConnectionThread<SQLiteConnection, Void>(name: "bankhub-checkpointer", batchJobsMax: 1, open: { [path] in
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try connection.execute("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0")
            return connection
        }, process: { connection, _ in
            // A busy checkpoint (another one running) is fine: the next request catches up.
            if let backfilled = try? Self.checkpoint(connection), backfilled > 0 {
                checkpointsEffective.value.add(1, ordering: .relaxed)
            }
            usleep(useconds_t(Self.intervalMilliseconds * 1_000))
        })
        thread.withLock { slot in
            precondition(slot == nil, "the checkpointer starts once")
            slot = started
        }
    }

    /// Runs one PASSIVE checkpoint; returns the WAL frames now in the database file (SQLite's third column:
    /// -1 when the connection does not see a WAL).
    private static func checkpoint(_ connection: SQLiteConnection) throws -> Int {
        let rows = try connection.prepare("PRAGMA wal_checkpoint(PASSIVE)").query { $0.int64(2) }
        return Int(rows.first ?? -1)
    }

    /// Asks for a checkpoint soon (any thread). A burst of commits queues about one request, not one each;
    /// a request lost to the race between the check and the submit is made up by the next commit's.
    func request() {
        guard let thread = thread.withLock({ $0 }) else { return }
        if thread.queuedCount == 0 { thread.submit(()) }
    }

    /// Checkpoints that found WAL frames copied into the database file (zero after many commits means the
    /// checkpoints do nothing).
    var checkpointsEffectiveCount: Int { checkpointsEffective.value.load(ordering: .relaxed) }

    func stop() {
        thread.withLock { $0 }?.stop()
    }
}

/// A counter the checkpointer's thread shares with its owner (a class: `Atomic` itself cannot be captured).
private final class CheckpointCount: Sendable {
    let value = Atomic<Int>(0)
}
