#ifndef BANKHUB_CEPOLL_SHIM_H
#define BANKHUB_CEPOLL_SHIM_H
/*
 * epoll and eventfd for Swift. Swift's Glibc module does not export <sys/epoll.h> or <sys/eventfd.h>, and
 * `struct epoll_event` is packed on x86-64 but not elsewhere; this header hands Swift the real declarations
 * and constants, and accessors that read an event at an index with the C compiler's own layout.
 */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static const uint32_t bankhub_epoll_in = EPOLLIN;
static const uint32_t bankhub_epoll_out = EPOLLOUT;
static const uint32_t bankhub_epoll_err = EPOLLERR;
static const uint32_t bankhub_epoll_hup = EPOLLHUP;
static const int bankhub_epoll_ctl_add = EPOLL_CTL_ADD;
static const int bankhub_epoll_ctl_del = EPOLL_CTL_DEL;
static const int bankhub_epoll_ctl_mod = EPOLL_CTL_MOD;
static const int bankhub_epoll_cloexec = EPOLL_CLOEXEC;
static const int bankhub_eventfd_flags = EFD_NONBLOCK | EFD_CLOEXEC;

/* epoll_ctl with the event built here: `events` and a 64-bit tag. */
static inline int bankhub_epoll_control(int epoll, int operation, int descriptor, uint32_t events, uint64_t data) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epoll, operation, descriptor, &event);
}

static inline uint32_t bankhub_epoll_event_flags(const struct epoll_event *events, int index) {
    return events[index].events;
}

static inline uint64_t bankhub_epoll_event_data(const struct epoll_event *events, int index) {
    return events[index].data.u64;
}
#endif
