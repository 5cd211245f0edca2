#ifndef BANKHUB_CLWS_SHIM_H
#define BANKHUB_CLWS_SHIM_H
#include <libwebsockets.h>
#include <dlfcn.h>
#include <stdint.h>

/* LWS_PRE is a macro; Swift cannot import it. Buffers given to lws_write need this headroom. */
static const int bankhub_lws_pre = LWS_PRE;

/* Option flags are 64-bit shift macros; exposed as constants so Swift sees their values. */
static const uint64_t bankhub_option_libev = LWS_SERVER_OPTION_LIBEV;
static const uint64_t bankhub_option_disable_ipv6 = LWS_SERVER_OPTION_DISABLE_IPV6;
static const uint64_t bankhub_option_ssl_global_init = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
static const uint64_t bankhub_option_fail_upon_unable_to_bind = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;

/* lws_set_timeout() seconds meaning "close this wsi on the next service pass" (a macro in lws). */
static const int bankhub_lws_to_kill_async = LWS_TO_KILL_ASYNC;

/* Where this libwebsockets build looks for its event-library plugins. */
static const char *const bankhub_lws_plugin_dir = LWS_INSTALL_LIBDIR;

/* The unknown-length marker for lws_add_http_common_headers. */
static inline lws_filepos_t bankhub_lws_unknown_content_length(void) {
    return LWS_ILLEGAL_HTTP_CONTENT_LEN;
}

/* A timer with a back pointer: lws hands the callback the sul, which is the first member. */
typedef struct bankhub_lws_timer {
    lws_sorted_usec_list_t sul;
    void *owner;
} bankhub_lws_timer;

static inline void *bankhub_lws_timer_owner(lws_sorted_usec_list_t *sul) {
    return ((bankhub_lws_timer *)sul)->owner;
}

/* True when the evlib plugin of the given file name (e.g. "libwebsockets-evlib_ev.so") loads. */
static inline int bankhub_lws_plugin_loadable(const char *file_name) {
    char path[512];
    lws_snprintf(path, sizeof(path), "%s/%s", LWS_INSTALL_LIBDIR, file_name);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        return 0;
    }
    dlclose(handle);
    return 1;
}
/*
 * libev loops created by us and handed to lws as "foreign" loops. With loops of its own, lws's libev
 * plugin attaches a SIGINT watcher to each, and libev aborts when a second context in the process
 * does the same ("a signal must not be attached to two different loops"). A foreign loop gets no
 * signal watcher, and we can break it from the service thread. libev is reached with dlopen because
 * its headers are not installed; EVFLAG_AUTO = 0 and EVBREAK_ALL = 2 are its ABI.
 */
static inline void *bankhub_libev_symbol(const char *name) {
    void *library = dlopen("libev.so.4", RTLD_NOW | RTLD_GLOBAL);
    return library ? dlsym(library, name) : NULL;
}

static inline void *bankhub_ev_loop_new(void) {
    void *(*loop_new)(unsigned int) = (void *(*)(unsigned int))bankhub_libev_symbol("ev_loop_new");
    return loop_new ? loop_new(0) : NULL;
}

static inline void bankhub_ev_break_all(void *loop) {
    void (*ev_break)(void *, int) = (void (*)(void *, int))bankhub_libev_symbol("ev_break");
    if (ev_break) ev_break(loop, 2);
}

static inline void bankhub_ev_loop_destroy(void *loop) {
    void (*destroy)(void *) = (void (*)(void *))bankhub_libev_symbol("ev_loop_destroy");
    if (destroy) destroy(loop);
}
#endif
