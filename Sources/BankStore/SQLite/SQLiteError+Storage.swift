import CSQLite

/// What a storage error means for the writer: whether it may go on after failing the batch.
extension SQLiteError {
    /// The primary result code (the low byte of an extended one).
    public var primaryCode: Int32 { code & 0xff }

    /// After this error what reached the disk is unknown, or the file cannot be trusted: an fsync failed (the
    /// kernel may have dropped the pages it could not write, and a retried fsync would report success), or
    /// the database is corrupt. The writer must not commit anything more (fail-stop).
    public var leavesDiskUnknown: Bool {
        code == bankhub_sqlite_ioerr_fsync || code == bankhub_sqlite_ioerr_dir_fsync
            || primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB
    }

    /// A failure of the machine rather than of the statement (full disk, I/O, memory, a lock held too long):
    /// trying again later may work.
    public var isTransient: Bool {
        [SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY, SQLITE_LOCKED].contains(primaryCode)
    }

    /// The kind of failure, for people: what the client and the log are told.
    public var storageProblem: String {
        switch primaryCode {
        case SQLITE_FULL: "the disk is full"
        case SQLITE_IOERR: "a disk I/O error"
        case SQLITE_NOMEM: "out of memory"
        case SQLITE_BUSY, SQLITE_LOCKED: "the database is busy"
        case SQLITE_CORRUPT, SQLITE_NOTADB: "the database file is damaged"
        default: "a storage error"
        }
    }
}
