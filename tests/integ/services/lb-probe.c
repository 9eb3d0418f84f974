/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lb-probe: what a client of a service VIP sees (tests/integ/services/
 * sock-lb.sh): who answered, and whom the socket believes it talks to.
 *
 *   lb-probe tcp-serve PORT REPLY | udp-serve PORT REPLY
 *       Answers every connection (then closes) or datagram with REPLY.
 *   lb-probe tcp ADDR PORT N     N connections: connect, getpeername, read
 *   lb-probe udpc ADDR PORT N    N connected UDP sockets: connect, send,
 *                                getpeername, recv
 *   lb-probe udp ADDR PORT N     N unconnected UDP sockets: sendto,
 *                                recvfrom (the reply's source)
 *       Prints "peers=A[,B...] failed=N" (the distinct peer addresses
 *       the sockets reported), then "REPLY COUNT" per distinct reply.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX 32

static char peers[MAX][INET_ADDRSTRLEN], replies[MAX][64];
static int n_peers, n_replies, counts[MAX], failed;

static void note_peer(const struct sockaddr_in *sa) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
        for (int i = 0; i < n_peers; i++)
                if (strcmp(peers[i], a) == 0)
                        return;
        if (n_peers < MAX)
                snprintf(peers[n_peers++], sizeof(peers[0]), "%s", a);
}

static void note_reply(const char *buf) {
        for (int i = 0; i < n_replies; i++)
                if (strcmp(replies[i], buf) == 0) {
                        counts[i]++;
                        return;
                }
        if (n_replies < MAX) {
                snprintf(replies[n_replies], sizeof(replies[0]), "%s", buf);
                counts[n_replies++] = 1;
        }
}

static int serve(int type, int port, const char *reply) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int one = 1, fd = socket(AF_INET, type, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
                perror("lb-probe: serve");
                return 1;
        }
        for (;;) {
                if (type == SOCK_STREAM) {
                        int c = accept(fd, NULL, NULL);
                        if (c < 0)
                                continue;
                        (void) !write(c, reply, strlen(reply));
                        close(c);
                } else {
                        char buf[64];
                        struct sockaddr_in from;
                        socklen_t fl = sizeof(from);
                        if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *) &from, &fl) >= 0)
                                (void) sendto(fd, reply, strlen(reply), 0, (struct sockaddr *) &from, fl);
                }
        }
}

static int one_client(const char *mode, const struct sockaddr_in *to) {
        int stream = strcmp(mode, "tcp") == 0, connected = stream || strcmp(mode, "udpc") == 0;
        int fd = socket(AF_INET, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
        struct timeval tv = { .tv_sec = 2 };
        struct sockaddr_in peer;
        socklen_t pl = sizeof(peer);
        char buf[64];
        ssize_t k;

        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* connect */
        if (connected) {
                if (connect(fd, (const struct sockaddr *) to, sizeof(*to)) < 0 ||
                    getpeername(fd, (struct sockaddr *) &peer, &pl) < 0)
                        goto fail;
                note_peer(&peer);
                if (!stream && send(fd, "q", 1, 0) < 0)
                        goto fail;
                k = recv(fd, buf, sizeof(buf) - 1, 0);
        } else {
                if (sendto(fd, "q", 1, 0, (const struct sockaddr *) to, sizeof(*to)) < 0)
                        goto fail;
                k = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *) &peer, &pl);
                if (k > 0)
                        note_peer(&peer);
        }
        if (k <= 0)
                goto fail;
        buf[k] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        note_reply(buf);
        close(fd);
        return 0;
fail:
        close(fd);
        return -1;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "tcp-serve") == 0)
                return serve(SOCK_STREAM, atoi(argv[2]), argv[3]);
        if (argc == 4 && strcmp(argv[1], "udp-serve") == 0)
                return serve(SOCK_DGRAM, atoi(argv[2]), argv[3]);
        if (argc != 5 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp") && strcmp(argv[1], "udpc"))) {
                fprintf(stderr, "usage: lb-probe tcp|udp|udpc ADDR PORT N | tcp-serve|udp-serve PORT REPLY\n");
                return 2;
        }
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[3])) };
        if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1)
                return 2;
        for (int i = 0, n = atoi(argv[4]); i < n; i++)
                if (one_client(argv[1], &to) < 0)
                        failed++;
        printf("peers=");
        for (int i = 0; i < n_peers; i++)
                printf("%s%s", i ? "," : "", peers[i]);
        printf(" failed=%d\n", failed);
        for (int i = 0; i < n_replies; i++)
                printf("%s %d\n", replies[i], counts[i]);
        return n_replies ? 0 : 1;
}
