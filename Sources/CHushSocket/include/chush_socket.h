// Batched datagram I/O with the destination address of each query, so that replies leave from the
// address the client asked (a box with several addresses would otherwise answer from the wrong one).
#ifndef CHUSH_SOCKET_H
#define CHUSH_SOCKET_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

typedef struct {
    uint8_t *data;                 // caller's buffer
    size_t capacity;               // its size
    size_t length;                 // bytes received / to send
    struct sockaddr_storage peer;  // client address
    socklen_t peer_length;
    int has_local;                 // 1 when local4/local6 and ifindex are valid
    int ifindex;
    struct in_addr local4;
    struct in6_addr local6;
} hush_datagram;

// Asks the kernel for IP_PKTINFO / IPV6_RECVPKTINFO on a bound UDP socket. Returns 0 or -1.
int hush_enable_pktinfo(int fd, int family);
// Receives up to count datagrams. Non-blocking: returns 0 when none. Blocking: waits for the first (or
// the socket's receive timeout, then returns 0) and takes whatever else is already queued.
// Returns how many, or -1 on error.
int hush_recv_batch(int fd, hush_datagram *datagrams, unsigned count, int blocking);
// Sends count datagrams, each from its recorded local address. Returns how many were sent or -1.
int hush_send_batch(int fd, hush_datagram *datagrams, unsigned count);
// Sets a socket option with an int value. Returns 0 or -1.
int hush_setsockopt_int(int fd, int level, int name, int value);
// Makes the descriptor non-blocking. Returns 0 or -1.
int hush_set_nonblocking(int fd);
// Sets SO_RCVTIMEO and SO_SNDTIMEO in milliseconds. Returns 0 or -1.
int hush_set_timeouts(int fd, int milliseconds);
// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (Swift's Glibc does not import accept4).
int hush_accept_nonblocking(int fd, struct sockaddr *address, socklen_t *length);

// epoll, level-triggered on readability. create returns the poller's descriptor; add/remove return 0 or -1;
// wait fills `ready` with up to `capacity` (at most 64) readable descriptors and returns how many, 0 on
// timeout or signal, -1 on error.
int hush_poller_create(void);
int hush_poller_add(int poller, int fd);
int hush_poller_remove(int poller, int fd);
int hush_poller_wait(int poller, int *ready, int capacity, int timeout_ms);

// One entry of the kernel's neighbour table (IPv4 ARP and IPv6 NDP).
typedef struct {
    int family;            // AF_INET or AF_INET6
    uint8_t address[16];   // 4 or 16 bytes used
    uint8_t mac[6];
    int has_mac;
} hush_neighbour;

// Dumps the neighbour table over netlink into `out`. Returns how many entries, or -1.
int hush_neighbours(hush_neighbour *out, int capacity);
// Marks the calling thread SCHED_BATCH at nice `nice`: it no longer preempts busy threads when it wakes.
// Returns 0, or -1 with errno set (the thread then runs as before).
int hush_lower_thread_priority(int nice);

#endif
