#define _GNU_SOURCE
#include "chush_socket.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>

#define HUSH_BATCH_MAX 64
#define HUSH_CONTROL_SIZE 64

int hush_setsockopt_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

int hush_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int hush_set_timeouts(int fd, int milliseconds) {
    struct timeval tv = { milliseconds / 1000, (milliseconds % 1000) * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return -1;
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int hush_enable_pktinfo(int fd, int family) {
    if (family == AF_INET6) {
        return hush_setsockopt_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
    return hush_setsockopt_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
}

int hush_recv_batch(int fd, hush_datagram *datagrams, unsigned count, int blocking) {
    if (count > HUSH_BATCH_MAX) count = HUSH_BATCH_MAX;
    struct mmsghdr headers[HUSH_BATCH_MAX];
    struct iovec vectors[HUSH_BATCH_MAX];
    char control[HUSH_BATCH_MAX][HUSH_CONTROL_SIZE];
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].data;
        vectors[i].iov_len = datagrams[i].capacity;
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &datagrams[i].peer;
        headers[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        headers[i].msg_hdr.msg_control = control[i];
        headers[i].msg_hdr.msg_controllen = HUSH_CONTROL_SIZE;
    }
    int received = recvmmsg(fd, headers, count, blocking ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
    if (received < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    for (int i = 0; i < received; i++) {
        hush_datagram *d = &datagrams[i];
        d->length = headers[i].msg_len;
        d->peer_length = headers[i].msg_hdr.msg_namelen;
        d->has_local = 0;
        // A datagram longer than the buffer is cut: mark it so the caller drops it.
        if (headers[i].msg_hdr.msg_flags & MSG_TRUNC) d->length = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&headers[i].msg_hdr); c; c = CMSG_NXTHDR(&headers[i].msg_hdr, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                d->local4 = info.ipi_addr;
                d->ifindex = info.ipi_ifindex;
                d->has_local = 1;
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo info;
                memcpy(&info, CMSG_DATA(c), sizeof(info));
                d->local6 = info.ipi6_addr;
                d->ifindex = (int)info.ipi6_ifindex;
                d->has_local = 1;
            }
        }
    }
    return received;
}

static void hush_fill_control(struct msghdr *header, hush_datagram *d, char *control) {
    if (!d->has_local) return;
    memset(control, 0, HUSH_CONTROL_SIZE);
    header->msg_control = control;
    if (d->peer.ss_family == AF_INET6) {
        header->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
        struct cmsghdr *c = CMSG_FIRSTHDR(header);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
        struct in6_pktinfo info;
        memset(&info, 0, sizeof(info));
        info.ipi6_addr = d->local6;
        info.ipi6_ifindex = (unsigned)d->ifindex;
        memcpy(CMSG_DATA(c), &info, sizeof(info));
    } else {
        header->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
        struct cmsghdr *c = CMSG_FIRSTHDR(header);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo info;
        memset(&info, 0, sizeof(info));
        info.ipi_spec_dst = d->local4;   // source address for the reply
        memcpy(CMSG_DATA(c), &info, sizeof(info));
    }
}

int hush_send_batch(int fd, hush_datagram *datagrams, unsigned count) {
    unsigned sent_total = 0;
    while (sent_total < count) {
        unsigned n = count - sent_total;
        if (n > HUSH_BATCH_MAX) n = HUSH_BATCH_MAX;
        struct mmsghdr headers[HUSH_BATCH_MAX];
        struct iovec vectors[HUSH_BATCH_MAX];
        char control[HUSH_BATCH_MAX][HUSH_CONTROL_SIZE];
        memset(headers, 0, sizeof(struct mmsghdr) * n);
        for (unsigned i = 0; i < n; i++) {
            hush_datagram *d = &datagrams[sent_total + i];
            vectors[i].iov_base = d->data;
            vectors[i].iov_len = d->length;
            headers[i].msg_hdr.msg_iov = &vectors[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_name = &d->peer;
            headers[i].msg_hdr.msg_namelen = d->peer_length;
            hush_fill_control(&headers[i].msg_hdr, d, control[i]);
        }
        int sent = sendmmsg(fd, headers, n, 0);
        if (sent < 0) {
            if (errno == EINTR) continue;
            // Skip the datagram that failed (e.g. an unreachable peer) so one bad peer cannot stall the rest.
            sent_total += 1;
            continue;
        }
        if (sent == 0) break;
        sent_total += (unsigned)sent;
    }
    return (int)sent_total;
}

int hush_accept_nonblocking(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
