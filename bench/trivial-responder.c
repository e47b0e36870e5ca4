// The ceiling for any DNS server on this machine: answers every UDP query with the query itself turned
// into a reply (QR set), no parsing, batched with recvmmsg/sendmmsg, one thread.
// Usage: trivial-responder PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 32

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 5390;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0) { perror("bind"); return 1; }
    static unsigned char buffers[BATCH][512];
    struct sockaddr_in peers[BATCH];
    struct iovec vectors[BATCH];
    struct mmsghdr messages[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            vectors[i] = (struct iovec){ buffers[i], sizeof(buffers[i]) };
            messages[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof(peers[i]), .msg_iov = &vectors[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        for (int i = 0; i < n; i++) {
            vectors[i].iov_len = messages[i].msg_len;
            if (messages[i].msg_len >= 12) buffers[i][2] |= 0x80, buffers[i][3] = 0x80;
        }
        sendmmsg(fd, messages, n, 0);
    }
}
