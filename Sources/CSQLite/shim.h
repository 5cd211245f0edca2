#ifndef BANKHUB_CSQLITE_SHIM_H
#define BANKHUB_CSQLITE_SHIM_H
#include <stddef.h>
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it. */
static inline sqlite3_destructor_type bankhub_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
/* Extended result codes are macros built from shifts; Swift cannot import them. */
static const int bankhub_sqlite_constraint_unique = SQLITE_CONSTRAINT_UNIQUE;
static const int bankhub_sqlite_constraint_primarykey = SQLITE_CONSTRAINT_PRIMARYKEY;
/* fsync failures: after one, what reached the disk is unknown (see DatabaseWriter's fail-stop). */
static const int bankhub_sqlite_ioerr_fsync = SQLITE_IOERR_FSYNC;
static const int bankhub_sqlite_ioerr_dir_fsync = SQLITE_IOERR_DIR_FSYNC;

/* The writer's WAL file, as SQLite itself holds it (SQLITE_FCNTL_JOURNAL_POINTER on "main"), or NULL when the
 * connection has no WAL open. Call it on the connection's own thread; the pointer stays valid while the
 * connection is open and in WAL mode. */
static inline sqlite3_file *bankhub_sqlite_wal_file(sqlite3 *db) {
    sqlite3_file *file = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) != SQLITE_OK) return NULL;
    return (file != NULL && file->pMethods != NULL) ? file : NULL;
}
/* fsyncs `file` the way SQLite syncs its WAL at COMMIT under synchronous=FULL; returns an SQLite result code
 * (SQLITE_IOERR_FSYNC when the fsync failed). */
static inline int bankhub_sqlite_sync_full(sqlite3_file *file) {
    return file->pMethods->xSync(file, SQLITE_SYNC_FULL);
}
/* Whether a write to `file` can never damage bytes around it on power loss (SQLITE_IOCAP_POWERSAFE_OVERWRITE):
 * only then may commits skip SQLite's padding of the last WAL frame to a sector, as synchronous=NORMAL does. */
static inline int bankhub_sqlite_powersafe_overwrite(sqlite3_file *file) {
    return (file->pMethods->xDeviceCharacteristics(file) & SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
}
#endif
