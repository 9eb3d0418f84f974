/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "grow.h"
#include "macro.h"
#include "nl-host.h"

int nd_nl_errno(int nle) {
        static const struct { int nle, err; } map[] = {
                { NLE_NOMEM, ENOMEM },   { NLE_EXIST, EEXIST },     { NLE_OBJ_NOTFOUND, ENOENT },
                { NLE_NODEV, ENODEV },   { NLE_PERM, EPERM },       { NLE_BUSY, EBUSY },
                { NLE_INVAL, EINVAL },   { NLE_RANGE, ERANGE },     { NLE_AGAIN, EAGAIN },
                { NLE_NOADDR, EADDRNOTAVAIL }, { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
                { NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_MSGSIZE, EMSGSIZE }, { NLE_NOACCESS, EACCES },
                { NLE_INTR, EINTR },     { NLE_BAD_SOCK, EBADF },   { NLE_OBJ_MISMATCH, EINVAL },
        };
        if (nle >= 0)
                return nle;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (map[i].nle == -nle)
                        return -map[i].err;
        return -EIO;
}

int nd_nl_socket_open(struct nl_sock **ret) {
        struct nl_sock *sk = nl_socket_alloc();
        int r;
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nd_nl_errno(r);
        }
        *ret = sk;
        return 0;
}

struct collect {
        nd_prefix *p;
        size_t n, cap;
        int err;
};

static void push(struct collect *c, const struct nl_addr *a, unsigned len) {
        nd_prefix p = {0};
        int fam = nl_addr_get_family(a);
        if ((fam != AF_INET && fam != AF_INET6) || c->err)
                return;
        if (len == 0 || len > nd_addr_bits(fam))
                return;
        p.addr.family = fam;
        memcpy(p.addr.b, nl_addr_get_binary_addr(a), fam == AF_INET ? 4 : 16);
        p.len = len;
        nd_prefix_canon(&p);
        int r = ND_GROW(c->p, c->n, c->cap, 1);
        if (r < 0) {
                c->err = r;
                return;
        }
        c->p[c->n++] = p;
}

static void on_addr(struct nl_object *o, void *arg) {
        struct rtnl_addr *a = (struct rtnl_addr *) o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (local)
                push(arg, local, (unsigned) rtnl_addr_get_prefixlen(a));
}

static void on_route(struct nl_object *o, void *arg) {
        struct rtnl_route *r = (struct rtnl_route *) o;
        struct nl_addr *dst = rtnl_route_get_dst(r);
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst)
                return;
        push(arg, dst, nl_addr_get_prefixlen(dst));
}

int nd_nl_host_prefixes(struct nl_sock *sk, nd_prefix **ret, size_t *ret_n) {
        struct nl_cache *addrs = NULL, *routes = NULL;
        struct collect c = {0};
        int r;

        r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r < 0)
                return nd_nl_errno(r);
        r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes);
        if (r < 0) {
                nl_cache_free(addrs);
                return nd_nl_errno(r);
        }
        nl_cache_foreach(addrs, on_addr, &c);
        nl_cache_foreach(routes, on_route, &c);
        nl_cache_free(addrs);
        nl_cache_free(routes);
        if (c.err) {
                free(c.p);
                return c.err;
        }
        *ret = c.p;
        *ret_n = c.n;
        return 0;
}
