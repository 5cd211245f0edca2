import Foundation

/// Copies committed WAL pages back into the database file on its own connection and thread, so the group
/// commit writer spends its time committing instead of checkpointing.
///
/// The writer's own automatic checkpoint stays on, at a higher threshold (`DatabaseWriter.walPagesMax`): it
/// is what resets the WAL to its start, and because this thread has already copied almost every frame by
/// then, that checkpoint is short. PASSIVE checkpoints never block the writer or readers, and each one
/// fsyncs the WAL before copying and the database file after, so durability is unchanged.
final class WALCheckpointer: Sendable {
    /// Least time between two passive checkpoints.
    static let intervalMilliseconds = 20

    private let thread: ConnectionThread<Void>

    init(path: String) throws {
        thread = try ConnectionThread(name: "bankhub-checkpointer", batchJobsMax: 1, open: {
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            try connection.execute("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0")
            return connection
        }, process: { connection, _ in
            // A busy checkpoint (another one running) is fine: the next request catches up.
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            usleep(useconds_t(Self.intervalMilliseconds * 1_000))
        })
    }

    /// Asks for a checkpoint soon (any thread). A burst of commits queues about one request, not one each;
    /// a request lost to the race between the check and the submit is made up by the next commit's.
    func request() {
        if thread.queuedCount == 0 { thread.submit(()) }
    }

    func stop() { thread.stop() }
}
