#ifndef BANKHUB_CSQLITE_SHIM_H
#define BANKHUB_CSQLITE_SHIM_H
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
#endif
