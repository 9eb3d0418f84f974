/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-trivial-client SOCKET: the floor for a client of netd's API, the
 * reference of bench/clients.sh.  It does what `netctl version` does on
 * the wire and nothing else: connect, write GET /v1/version, read the
 * reply to the end, copy it to stdout.  No parsing, no JSON, libc only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        static const char req[] = "GET /v1/version HTTP/1.1\r\nHost: netd\r\nConnection: close\r\n\r\n";
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        ssize_t k;
        int fd;

        if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: bench-trivial-client SOCKET\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            write(fd, req, sizeof(req) - 1) != (ssize_t) sizeof(req) - 1) {
                perror("bench-trivial-client");
                return 1;
        }
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                if (write(STDOUT_FILENO, buf, (size_t) k) != k)
                        return 1;
        return k < 0;
}
