#ifndef BANKHUB_CTHREADNAME_SHIM_H
#define BANKHUB_CTHREADNAME_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

/* Names the calling thread for the OS (/proc/PID/task/N/comm, top -H, perf); Swift's Glibc module does not
 * export this GNU call. The kernel keeps 15 bytes; a longer name is refused, so callers cut it first. */
static inline int bankhub_name_running_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
#endif
