/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "hostport.h"

static int bind_one(int family, const uint8_t *addr, uint8_t proto, uint16_t port) {
        int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
        int fd = socket(family, type | SOCK_CLOEXEC, proto);
        union {
                struct sockaddr sa;
                struct sockaddr_in in4;
                struct sockaddr_in6 in6;
        } u = {0};
        socklen_t len;
        int one = 1;

        if (fd < 0)
                return -errno;
        if (family == AF_INET6) {
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                u.in6.sin6_family = AF_INET6;
                u.in6.sin6_port = htons(port);
                if (addr)
                        memcpy(&u.in6.sin6_addr, addr, 16);
                len = sizeof(u.in6);
        } else {
                u.in4.sin_family = AF_INET;
                u.in4.sin_port = htons(port);
                if (addr)
                        memcpy(&u.in4.sin_addr, addr, 4);
                len = sizeof(u.in4);
        }
        if (proto == IPPROTO_UDP) {
                /* never queue a datagram */
                struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
                struct sock_fprog prog = { .len = 1, .filter = &drop };
                (void) setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
        }
        if (bind(fd, &u.sa, len) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int nd_hostport_reserve(const nd_port_binding *b, int fds[static ND_HOSTPORT_FDS], nd_diag *d) {
        char a[ND_ADDR_STRLEN];
        int fam = b->host_ip.family;
        const uint8_t *addr = fam ? b->host_ip.b : NULL;

        fds[0] = fds[1] = -1;
        for (int i = 0; i < 2; i++) {
                int f = i == 0 ? AF_INET : AF_INET6;
                if (fam && fam != f)
                        continue;
                int fd = bind_one(f, addr, b->proto, b->host_port);
                if (fd >= 0) {
                        fds[i] = fd;
                        continue;
                }
                /* no IPv6 on this host, or no SCTP in this kernel: there is
                 * nothing that could take the port either */
                if ((fam == 0 && f == AF_INET6 && (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)) ||
                    fd == -EPROTONOSUPPORT || fd == -ESOCKTNOSUPPORT)
                        continue;
                nd_hostport_release(fds);
                const char *ip = fam ? nd_addr_fmt(&b->host_ip, a) : (f == AF_INET ? "0.0.0.0" : "::");
                if (fd == -EADDRINUSE)
                        return nd_diag_set(d, fd, "host port %s:%u/%s is already in use by another process", ip,
                                           b->host_port, nd_proto_name(b->proto));
                if (fd == -EADDRNOTAVAIL)
                        return nd_diag_set(d, fd, "host address %s is not an address of this host", ip);
                return nd_diag_set(d, fd, "reserving host port %s:%u/%s failed: %s", ip, b->host_port,
                                   nd_proto_name(b->proto), strerror(-fd));
        }
        return 0;
}

void nd_hostport_release(int fds[static ND_HOSTPORT_FDS]) {
        for (int i = 0; i < ND_HOSTPORT_FDS; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}
