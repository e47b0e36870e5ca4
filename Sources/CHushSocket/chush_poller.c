// epoll for the upstream socket pool: one thread waits on many sockets. Swift imports the packed
// epoll_event awkwardly, so the struct stays on this side.
#include "chush_socket.h"
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int hush_poller_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int hush_poller_add(int poller, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    return epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
}

int hush_poller_remove(int poller, int fd) {
    return epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
}

int hush_poller_wait(int poller, int *ready, int capacity, int timeout_ms) {
    if (capacity > 64) capacity = 64;
    struct epoll_event events[64];
    int n = epoll_wait(poller, events, capacity, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) ready[i] = events[i].data.fd;
    return n;
}
