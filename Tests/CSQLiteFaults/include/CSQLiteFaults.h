#ifndef BANKHUB_CSQLITEFAULTS_H
#define BANKHUB_CSQLITEFAULTS_H
/*
 * Test-only: an SQLite VFS that wraps the default one (unix) and fails chosen calls, so tests can see what
 * the hub does when the disk fails in the middle of a commit. The product never links this target.
 *
 * A fault is armed for the files whose path starts with a prefix (a database path covers its -wal and
 * -journal files; a directory covers every database in it), so tests running in parallel on their own
 * directories do not disturb each other. It fails exactly one call, the Nth xWrite or xSync on those files
 * counted from the moment it was armed, with SQLITE_IOERR_WRITE or SQLITE_IOERR_FSYNC, without touching the
 * file. Every other call goes through to the real VFS unchanged. Any thread may arm; the state is behind a
 * mutex, so any connection's thread may hit the fault.
 */

enum {
    BANKHUB_FAULT_WRITE = 1,
    BANKHUB_FAULT_SYNC = 2,
    /* At most this many faults armed at once (each prefix and kind is one). */
    BANKHUB_FAULTS_ARMED_MAX = 16,
    /* Longest prefix, in bytes. */
    BANKHUB_FAULT_PREFIX_BYTES_MAX = 1024,
};

/* The name to pass as the VFS when opening a database (sqlite3_open_v2's last argument). */
const char *bankhub_faults_vfs_name(void);

/* Registers the VFS (not as the default). Safe to call more than once and from any thread; returns an
 * SQLite result code. */
int bankhub_faults_register(void);

/* Fails the Nth (N >= 1) call of `kind` (BANKHUB_FAULT_WRITE or BANKHUB_FAULT_SYNC) from now on among files
 * under `path_prefix`; replaces a fault of the same prefix and kind armed before. Returns 0, or -1 when the
 * arguments are bad or BANKHUB_FAULTS_ARMED_MAX faults are armed already. */
int bankhub_faults_arm(const char *path_prefix, int kind, long long n);

/* Disarms every fault under `path_prefix` and forgets its counts. */
void bankhub_faults_disarm(const char *path_prefix);

/* How many calls under `path_prefix` the VFS failed since it was armed. */
long long bankhub_faults_fired(const char *path_prefix);

#endif
