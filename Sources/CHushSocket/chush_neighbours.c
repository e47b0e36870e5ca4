#define _GNU_SOURCE
#include "chush_socket.h"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <string.h>
#include <unistd.h>

int hush_neighbours(hush_neighbour *out, int capacity) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -1;
    struct { struct nlmsghdr header; struct ndmsg message; } request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
    request.header.nlmsg_type = RTM_GETNEIGH;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.message.ndm_family = AF_UNSPEC;
    if (send(fd, &request, request.header.nlmsg_len, 0) < 0) { close(fd); return -1; }
    int count = 0;
    char buffer[16384];
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n < 0) { if (errno == EINTR) continue; close(fd); return -1; }
        if (n == 0) break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) { close(fd); return count; }
            if (h->nlmsg_type != RTM_NEWNEIGH || count >= capacity) continue;
            struct ndmsg *message = NLMSG_DATA(h);
            if (message->ndm_family != AF_INET && message->ndm_family != AF_INET6) continue;
            hush_neighbour *entry = &out[count];
            memset(entry, 0, sizeof(*entry));
            entry->family = message->ndm_family;
            int length = (int)RTM_PAYLOAD(h);
            int have_address = 0;
            for (struct rtattr *a = RTM_RTA(message); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
                if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) <= 16) {
                    memcpy(entry->address, RTA_DATA(a), RTA_PAYLOAD(a));
                    have_address = 1;
                } else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
                    memcpy(entry->mac, RTA_DATA(a), 6);
                    entry->has_mac = 1;
                }
            }
            if (have_address && entry->has_mac && !(message->ndm_state & (NUD_FAILED | NUD_INCOMPLETE))) count++;
        }
    }
    close(fd);
    return count;
}
