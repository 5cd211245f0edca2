import CSQLite
import Synchronization

/// SQLite's own handle of the writer connection's WAL file, which the syncer thread fsyncs while the writer
/// appends the next commits to it.
// @unchecked Sendable: it holds a C pointer (the C boundary). SQLite owns the file; the pointer stays valid
// while the writer's connection is open in WAL mode, and the writer closes it only after the syncer drained
// (`DatabaseWriter`'s `finish`). The unix VFS's xSync is an fsync of the descriptor, which the kernel allows
// beside the writer's pwrite calls; its one piece of shared state, the flag asking for a first fsync of the
// directory, is cleared by the sync in `open` before the syncer exists.
final class WALFile: @unchecked Sendable {
    private let file: UnsafeMutablePointer<sqlite3_file>

    private init(_ file: UnsafeMutablePointer<sqlite3_file>) {
        self.file = file
    }

    /// On the writer thread after migration: finds the WAL, fsyncs it once (and its directory, if new), and
    /// switches the connection to `synchronous=NORMAL` (COMMIT appends without fsync; checkpoints still sync).
    /// Nil when the pipeline cannot keep the durability of `synchronous=FULL`: no WAL, or a device without
    /// power-safe overwrite (NORMAL skips the padding of a commit's last frame to a sector that FULL does).
    static func open(_ connection: SQLiteConnection) throws -> WALFile? {
        guard let file = bankhub_sqlite_wal_file(connection.handle),
              bankhub_sqlite_powersafe_overwrite(file) != 0 else { return nil }
        let rc = bankhub_sqlite_sync_full(file)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "cannot fsync the WAL", sql: nil) }
        try connection.execute("PRAGMA synchronous = NORMAL")
        return WALFile(file)
    }

    /// fsyncs the WAL as COMMIT does under `synchronous=FULL`; an SQLite result code.
    func sync() -> Int32 {
        bankhub_sqlite_sync_full(file)
    }

    /// Whether `connection` still writes through this file (the writer thread; checked after each commit).
    func isCurrent(for connection: SQLiteConnection) -> Bool {
        bankhub_sqlite_wal_file(connection.handle) == file
    }
}

/// Where the writer thread leaves the WAL file it found at open for the syncer (nil: no pipeline).
final class WALFileSlot: Sendable {
    private let slot = Mutex<WALFile?>(nil)

    func set(_ file: WALFile?) { slot.withLock { $0 = file } }
    var file: WALFile? { slot.withLock { $0 } }
}
