/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nf_tables change notifications: who else wrote to netd's tables.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "nft.h"

int nd_nft_monitor_open(void) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int group = NFNLGRP_NFTABLES, sz = 4 << 20;

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
        return fd;
}

struct attr_pick {
        const struct nlattr *a[8];
};

static int pick_attr(const struct nlattr *attr, void *data) {
        struct attr_pick *p = data;
        unsigned t = mnl_attr_get_type(attr);
        if (t < ELEMENTSOF(p->a))
                p->a[t] = attr;
        return MNL_CB_OK;
}

int nd_nft_monitor_read(int fd, uint32_t own_portid, bool *foreign, char *who, size_t who_size) {
        char buf[MNL_SOCKET_BUFFER_SIZE * 4];
        int r = 0;

        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), 0);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return r;
                        if (errno == ENOBUFS) {
                                *foreign = true;
                                r = -ENOBUFS;
                                continue;
                        }
                        return -errno;
                }
                int rest = (int) len;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(h, rest);
                     h = mnl_nlmsg_next(h, &rest)) {
                        if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                                continue;
                        unsigned type = NFNL_MSG_TYPE(h->nlmsg_type);
                        const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
                        struct attr_pick p = {0};
                        if (mnl_attr_parse(h, sizeof(*g), pick_attr, &p) < 0)
                                continue;
                        if (type == NFT_MSG_NEWGEN) {
                                if (*foreign && who && p.a[NFTA_GEN_PROC_PID] && p.a[NFTA_GEN_PROC_NAME])
                                        snprintf(who, who_size, "%s[%u]",
                                                 mnl_attr_get_str(p.a[NFTA_GEN_PROC_NAME]),
                                                 ntohl(mnl_attr_get_u32(p.a[NFTA_GEN_PROC_PID])));
                                continue;
                        }
                        /* the table name is attribute 1 of tables, chains,
                         * rules, sets, elements, objects and flowtables */
                        if ((g->nfgen_family != NFPROTO_INET && g->nfgen_family != NFPROTO_BRIDGE) || !p.a[1] ||
                            mnl_attr_validate(p.a[1], MNL_TYPE_NUL_STRING) < 0 ||
                            strcmp(mnl_attr_get_str(p.a[1]), ND_NFT_TABLE) != 0)
                                continue;
                        if (h->nlmsg_pid != own_portid)
                                *foreign = true;
                }
        }
}
