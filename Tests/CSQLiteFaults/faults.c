/* A fault-injecting SQLite VFS over the default one. See include/CSQLiteFaults.h. */
#include "CSQLiteFaults.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

/* A file opened through this VFS: our methods first, the real VFS's file right after it. */
typedef struct FaultFile {
    sqlite3_file base;
    sqlite3_file *real;
    /* The path SQLite opened; it stays valid until xClose. NULL for temporary files. */
    const char *name;
} FaultFile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static pthread_once_t registered = PTHREAD_ONCE_INIT;
static int register_result = SQLITE_ERROR;

/* One armed fault: the `countdown`th call of `kind` on a file under `prefix` fails. */
typedef struct Fault {
    int in_use;
    int kind;
    char prefix[BANKHUB_FAULT_PREFIX_BYTES_MAX];
    size_t prefix_length;
    long long countdown; /* 0 once spent */
    long long fired;
} Fault;

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static Fault faults[BANKHUB_FAULTS_ARMED_MAX];

static sqlite3_file *real_of(sqlite3_file *file) { return ((FaultFile *)file)->real; }

/* Counts a call of `kind` on the file `name`; true when it is the one to fail. */
static int should_fail(const char *name, int kind) {
    if (name == NULL) return 0;
    int fail = 0;
    pthread_mutex_lock(&faults_lock);
    for (int index = 0; index < BANKHUB_FAULTS_ARMED_MAX; index++) {
        Fault *fault = &faults[index];
        if (!fault->in_use || fault->kind != kind || fault->countdown == 0) continue;
        if (strncmp(name, fault->prefix, fault->prefix_length) != 0) continue;
        fault->countdown -= 1;
        if (fault->countdown == 0) {
            fault->fired += 1;
            fail = 1;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return fail;
}

/* ---- file methods: forward, except the armed write or sync ---- */

static int fault_close(sqlite3_file *file) {
    sqlite3_file *real = real_of(file);
    return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}

static int fault_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xRead(real, buffer, amount, offset);
}

static int fault_write(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    if (should_fail(((FaultFile *)file)->name, BANKHUB_FAULT_WRITE)) return SQLITE_IOERR_WRITE;
    sqlite3_file *real = real_of(file);
    return real->pMethods->xWrite(real, buffer, amount, offset);
}

static int fault_truncate(sqlite3_file *file, sqlite3_int64 size) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xTruncate(real, size);
}

static int fault_sync(sqlite3_file *file, int flags) {
    if (should_fail(((FaultFile *)file)->name, BANKHUB_FAULT_SYNC)) return SQLITE_IOERR_FSYNC;
    sqlite3_file *real = real_of(file);
    return real->pMethods->xSync(real, flags);
}

static int fault_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xFileSize(real, size);
}

static int fault_lock(sqlite3_file *file, int lock) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xLock(real, lock);
}

static int fault_unlock(sqlite3_file *file, int lock) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xUnlock(real, lock);
}

static int fault_check_reserved_lock(sqlite3_file *file, int *out) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xCheckReservedLock(real, out);
}

static int fault_file_control(sqlite3_file *file, int op, void *arg) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xFileControl(real, op, arg);
}

static int fault_sector_size(sqlite3_file *file) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xSectorSize(real);
}

static int fault_device_characteristics(sqlite3_file *file) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xDeviceCharacteristics(real);
}

static int fault_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xShmMap(real, page, size, extend, out);
}

static int fault_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xShmLock(real, offset, n, flags);
}

static void fault_shm_barrier(sqlite3_file *file) {
    sqlite3_file *real = real_of(file);
    real->pMethods->xShmBarrier(real);
}

static int fault_shm_unmap(sqlite3_file *file, int delete_flag) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xShmUnmap(real, delete_flag);
}

static int fault_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xFetch(real, offset, amount, out);
}

static int fault_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    sqlite3_file *real = real_of(file);
    return real->pMethods->xUnfetch(real, offset, page);
}

static const sqlite3_io_methods fault_methods = {
    3,
    fault_close, fault_read, fault_write, fault_truncate, fault_sync, fault_file_size, fault_lock, fault_unlock,
    fault_check_reserved_lock, fault_file_control, fault_sector_size, fault_device_characteristics,
    fault_shm_map, fault_shm_lock, fault_shm_barrier, fault_shm_unmap, fault_fetch, fault_unfetch,
};

/* ---- VFS methods: open wraps the file; the rest go to the real VFS with its own pointer ---- */

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    FaultFile *wrapped = (FaultFile *)file;
    wrapped->real = (sqlite3_file *)&wrapped[1];
    wrapped->real->pMethods = NULL;
    wrapped->name = name;
    int rc = real_vfs->xOpen(real_vfs, name, wrapped->real, flags, out_flags);
    /* SQLite closes a file whose pMethods is set, even when the open failed. */
    wrapped->base.pMethods = wrapped->real->pMethods ? &fault_methods : NULL;
    return rc;
}

static int fault_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int fault_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int fault_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, size, out);
}

static void *fault_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void fault_dl_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    real_vfs->xDlError(real_vfs, size, out);
}

static void (*fault_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, handle, symbol);
}

static void fault_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    real_vfs->xDlClose(real_vfs, handle);
}

static int fault_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, size, out);
}

static int fault_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return real_vfs->xSleep(real_vfs, microseconds);
}

static int fault_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int fault_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, size, out);
}

static int fault_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void register_once(void) {
    real_vfs = sqlite3_vfs_find(NULL);
    if (real_vfs == NULL || real_vfs->iVersion < 2) {
        register_result = SQLITE_ERROR;
        return;
    }
    memset(&fault_vfs, 0, sizeof fault_vfs);
    fault_vfs.iVersion = 2;
    fault_vfs.szOsFile = (int)sizeof(FaultFile) + real_vfs->szOsFile;
    fault_vfs.mxPathname = real_vfs->mxPathname;
    fault_vfs.zName = "bankhub-faults";
    fault_vfs.xOpen = fault_open;
    fault_vfs.xDelete = fault_delete;
    fault_vfs.xAccess = fault_access;
    fault_vfs.xFullPathname = fault_full_pathname;
    fault_vfs.xDlOpen = fault_dl_open;
    fault_vfs.xDlError = fault_dl_error;
    fault_vfs.xDlSym = fault_dl_sym;
    fault_vfs.xDlClose = fault_dl_close;
    fault_vfs.xRandomness = fault_randomness;
    fault_vfs.xSleep = fault_sleep;
    fault_vfs.xCurrentTime = fault_current_time;
    fault_vfs.xGetLastError = fault_get_last_error;
    fault_vfs.xCurrentTimeInt64 = fault_current_time_int64;
    register_result = sqlite3_vfs_register(&fault_vfs, 0);
}

/* ---- the API of the header ---- */

const char *bankhub_faults_vfs_name(void) { return "bankhub-faults"; }

int bankhub_faults_register(void) {
    pthread_once(&registered, register_once);
    return register_result;
}

int bankhub_faults_arm(const char *path_prefix, int kind, long long n) {
    if (path_prefix == NULL || n < 1 || (kind != BANKHUB_FAULT_WRITE && kind != BANKHUB_FAULT_SYNC)) return -1;
    size_t length = strlen(path_prefix);
    if (length == 0 || length >= BANKHUB_FAULT_PREFIX_BYTES_MAX) return -1;
    int result = -1;
    pthread_mutex_lock(&faults_lock);
    Fault *chosen = NULL;
    for (int index = 0; index < BANKHUB_FAULTS_ARMED_MAX && chosen == NULL; index++) {
        Fault *fault = &faults[index];
        if (fault->in_use && fault->kind == kind && strcmp(fault->prefix, path_prefix) == 0) chosen = fault;
    }
    for (int index = 0; index < BANKHUB_FAULTS_ARMED_MAX && chosen == NULL; index++) {
        if (!faults[index].in_use) {
            chosen = &faults[index];
            memset(chosen, 0, sizeof *chosen);
        }
    }
    if (chosen != NULL) {
        chosen->in_use = 1;
        chosen->kind = kind;
        memcpy(chosen->prefix, path_prefix, length + 1);
        chosen->prefix_length = length;
        chosen->countdown = n;
        result = 0;
    }
    pthread_mutex_unlock(&faults_lock);
    return result;
}

void bankhub_faults_disarm(const char *path_prefix) {
    pthread_mutex_lock(&faults_lock);
    for (int index = 0; index < BANKHUB_FAULTS_ARMED_MAX; index++) {
        if (faults[index].in_use && strcmp(faults[index].prefix, path_prefix) == 0) faults[index].in_use = 0;
    }
    pthread_mutex_unlock(&faults_lock);
}

long long bankhub_faults_fired(const char *path_prefix) {
    long long total = 0;
    pthread_mutex_lock(&faults_lock);
    for (int index = 0; index < BANKHUB_FAULTS_ARMED_MAX; index++) {
        if (faults[index].in_use && strcmp(faults[index].prefix, path_prefix) == 0) total += faults[index].fired;
    }
    pthread_mutex_unlock(&faults_lock);
    return total;
}
