/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables command socket and its transactions: every change is one
 * nfnetlink batch, built here from the sets (nft-sets.c) and the fixed
 * chains and rules (nft-rules.c), sent whole, its acks read back.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "metrics.h"
#include "nft-internal.h"

struct nd_nft {
        struct mnl_socket *nl;
        uint32_t portid, seq;
        uint64_t batches, failed;
        nd_hist lat;              /* one batch: sendmsg to the last ack */
};

int nd_nft_open(nd_nft **ret) {
        nd_nft *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                nd_nft_free(n);
                return r;
        }
        /* a table replace with thousands of elements is one sendmsg() */
        int sz = 8 << 20, one = 1;
        (void) setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
        /* An error carries only the header of the message it refuses, not
         * the message: a refused set element message is up to
         * ND_NFT_MSG_MAX, and an error cut by recv() could not be read. */
        (void) setsockopt(mnl_socket_get_fd(n->nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        n->portid = mnl_socket_get_portid(n->nl);
        n->seq = (uint32_t) time(NULL);
        nd_hist_init(&n->lat, nd_hist_latency_bounds, nd_hist_latency_n);
        *ret = n;
        return 0;
}

nd_nft *nd_nft_free(nd_nft *n) {
        if (!n)
                return NULL;
        if (n->nl)
                mnl_socket_close(n->nl);
        free(n);
        return NULL;
}

uint32_t nd_nft_portid(const nd_nft *n) {
        return n->portid;
}

struct mnl_socket *nd_nft_mnl(nd_nft *n) {
        return n->nl;
}

uint32_t nd_nft_next_seq(nd_nft *n) {
        return n->seq++;
}

/* ---- batches ---- */

#define BATCH_PAGE (64 * 1024)

int nd_nft_batch_begin(nd_nft_batch *bt, nd_nft *n) {
        *bt = (nd_nft_batch) { .n = n };
        /* libnftnl builds each message where the page has reached and
         * moves on to a new page only after it: a page needs room for the
         * largest message past its limit */
        bt->b = nftnl_batch_alloc(BATCH_PAGE, ND_NFT_MSG_MAX);
        if (!bt->b)
                return -ENOMEM;
        nftnl_batch_begin(nftnl_batch_buffer(bt->b), n->seq++);
        nftnl_batch_update(bt->b);
        return 0;
}

struct nlmsghdr *nd_nft_batch_msg(nd_nft_batch *bt, int type, uint16_t family, uint16_t flags) {
        return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), (uint16_t) type, family, flags, bt->n->seq++);
}

void nd_nft_batch_msg_done(nd_nft_batch *bt) {
        nftnl_batch_update(bt->b);
}

/* Send and read what the kernel said.  It processes the batch inside
 * sendmsg(), so every reply is queued when sendmsg() returns. */
static int batch_send(nd_nft_batch *bt);

int nd_nft_batch_commit(nd_nft_batch *bt) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int r = batch_send(bt);
        clock_gettime(CLOCK_MONOTONIC, &b);
        bt->n->batches++;
        bt->n->failed += r < 0;
        nd_hist_observe(&bt->n->lat, (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9);
        return r;
}

static int batch_send(nd_nft_batch *bt) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        int fd = mnl_socket_get_fd(bt->n->nl), first = 0;

        nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->n->seq++);
        nftnl_batch_update(bt->b);
        int k = nftnl_batch_iovec_len(bt->b);
        struct iovec iov[k];
        nftnl_batch_iovec(bt->b, iov, (uint32_t) k);
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = iov, .msg_iovlen = (size_t) k };
        ssize_t r = sendmsg(fd, &mh, 0);
        nftnl_batch_free(bt->b);
        bt->b = NULL;
        if (r < 0)
                return -errno;
        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        return first ? first : -errno;
                }
                if ((size_t) len > sizeof(buf)) {
                        /* cut (without NETLINK_CAP_ACK, before Linux
                         * 4.3): the error heads the message, whole */
                        const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (!first)
                                first = h->nlmsg_type == NLMSG_ERROR && e->error ? e->error : -EMSGSIZE;
                        continue;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, (int) len);
                     h = mnl_nlmsg_next(h, (int *) &len)) {
                        if (h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (e->error && !first)
                                first = e->error;
                }
        }
        return first;
}

void nd_nft_batch_abort(nd_nft_batch *bt) {
        if (bt->b)
                nftnl_batch_free(bt->b);
        bt->b = NULL;
}

static const uint16_t families[] = { NFPROTO_INET, NFPROTO_BRIDGE };

static int put_table(nd_nft_batch *bt, int type, uint16_t family) {
        struct nftnl_table *t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, ND_NFT_TABLE);
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
        struct nlmsghdr *h = nd_nft_batch_msg(bt, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
        nftnl_table_nlmsg_build_payload(h, t);
        nd_nft_batch_msg_done(bt);
        nftnl_table_free(t);
        return 0;
}

int nd_nft_replace(nd_nft *n, const nd_nft_elem *elems, size_t n_elems) {
        nd_nft_batch bt;
        int r = nd_nft_batch_begin(&bt, n);
        if (r < 0)
                return r;
        /* "table; delete table; table { ... }": atomic, and no error when
         * the table was missing */
        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                if ((r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_DELTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0)
                        goto fail;
        if ((r = nd_nft_batch_put_sets(&bt)) < 0 || (r = nd_nft_batch_put_chains(&bt)) < 0)
                goto fail;
        if (n_elems) {
                const nd_nft_elem **v = malloc(n_elems * sizeof(*v));
                if (!v) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < n_elems; i++)
                        v[i] = &elems[i];
                for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                        r = nd_nft_batch_put_elems(&bt, NFT_MSG_NEWSETELEM, (nd_nft_set) s, v, n_elems);
                free(v);
                if (r < 0)
                        goto fail;
        }
        return nd_nft_batch_commit(&bt);
fail:
        nd_nft_batch_abort(&bt);
        return r;
}

int nd_nft_update(nd_nft *n, const nd_nft_elem *const *del, size_t n_del, const nd_nft_elem *const *add,
                  size_t n_add) {
        nd_nft_batch bt;
        int r;
        if (n_del == 0 && n_add == 0)
                return 0;
        r = nd_nft_batch_begin(&bt, n);
        if (r < 0)
                return r;
        for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                r = nd_nft_batch_put_elems(&bt, NFT_MSG_DELSETELEM, (nd_nft_set) s, del, n_del);
        for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                r = nd_nft_batch_put_elems(&bt, NFT_MSG_NEWSETELEM, (nd_nft_set) s, add, n_add);
        if (r < 0) {
                nd_nft_batch_abort(&bt);
                return r;
        }
        return nd_nft_batch_commit(&bt);
}

int nd_nft_delete_table(nd_nft *n) {
        nd_nft_batch bt;
        int r = nd_nft_batch_begin(&bt, n);
        if (r < 0)
                return r;
        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                if ((r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_DELTABLE, families[f])) < 0) {
                        nd_nft_batch_abort(&bt);
                        return r;
                }
        return nd_nft_batch_commit(&bt);
}

void nd_nft_metrics(const nd_nft *n, nd_expo *e) {
        nd_expo_family(e, "netd_nft_batches_total", "counter", "nftables transactions sent (one per logical change).");
        nd_expo_sample(e, "netd_nft_batches_total", NULL, n ? (double) n->batches : 0);
        nd_expo_family(e, "netd_nft_batch_errors_total", "counter", "nftables transactions the kernel refused.");
        nd_expo_sample(e, "netd_nft_batch_errors_total", NULL, n ? (double) n->failed : 0);
        if (n) {
                nd_expo_family(e, "netd_nft_batch_duration_seconds", "histogram",
                               "Time of one nftables transaction, from sendmsg to the last acknowledgement.");
                nd_expo_hist(e, "netd_nft_batch_duration_seconds", NULL, &n->lat);
        }
}
