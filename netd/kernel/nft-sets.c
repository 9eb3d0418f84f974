/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nftables sets and maps: their definitions (the types `nft` gives them)
 * and the encoding of their elements, which carry everything that varies
 * in the ruleset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <string.h>

#include "nft-internal.h"

/* nft's datatype numbers (nftables src/datatype.h); concatenations are
 * the types shifted by 6 bits each.  Each field of a concatenation takes
 * whole 32-bit registers, so the lengths below count a protocol or a port
 * as 4 bytes.
 * A service slot is what `numgen` writes, a host-order u32.  nft calls
 * that "integer" but can list a concatenation with it only from typeof
 * user data (without, nft 1.0.6 aborts on its length of 0); "mark" is the
 * plain type of the same shape, so `nft list` shows a slot as a mark. */
enum { T_IPADDR = 7, T_IP6ADDR = 8, T_ETHERADDR = 9, T_PROTO = 12, T_SERVICE = 13, T_SLOT = 19 /* mark */,
       T_IFNAME = 41 };
#define CAT2(a, b) (((a) << 6) | (b))
#define CAT3(a, b, c) (((((a) << 6) | (b)) << 6) | (c))

static const struct set_def {
        const char *name;
        uint32_t key_type, key_len, data_type, data_len, flags;
        uint8_t family;           /* 0: inet */
} sets[_ND_SET_MAX] = {
#define SET(n, kt, kl) { .name = n, .key_type = kt, .key_len = kl }
#define MAP(n, kt, kl, dt, dl) { .name = n, .key_type = kt, .key_len = kl, .data_type = dt, .data_len = dl, .flags = NFT_SET_MAP }
        [ND_SET_BRIDGES] = SET("bridges", T_IFNAME, 16),
        [ND_SET_SAME] = SET("same_bridge", CAT2(T_IFNAME, T_IFNAME), 32),
        [ND_SET_INTERNAL] = SET("internal", T_IFNAME, 16),
        [ND_SET_SUB4] = { .name = "subnets4", .key_type = T_IPADDR, .key_len = 4, .flags = NFT_SET_INTERVAL },
        [ND_SET_SUB6] = { .name = "subnets6", .key_type = T_IP6ADDR, .key_len = 16, .flags = NFT_SET_INTERVAL },
        [ND_SET_GW4] = SET("gateways4", CAT2(T_IFNAME, T_IPADDR), 20),
        [ND_SET_GW6] = SET("gateways6", CAT2(T_IFNAME, T_IP6ADDR), 32),
        [ND_SET_PUB4] = MAP("publish4", CAT2(T_PROTO, T_SERVICE), 8, CAT2(T_IPADDR, T_SERVICE), 8),
        [ND_SET_PUB4A] = MAP("publish4_addr", CAT3(T_IPADDR, T_PROTO, T_SERVICE), 12, CAT2(T_IPADDR, T_SERVICE), 8),
        [ND_SET_PUB6] = MAP("publish6", CAT2(T_PROTO, T_SERVICE), 8, CAT2(T_IP6ADDR, T_SERVICE), 20),
        [ND_SET_PUB6A] = MAP("publish6_addr", CAT3(T_IP6ADDR, T_PROTO, T_SERVICE), 24, CAT2(T_IP6ADDR, T_SERVICE), 20),
        [ND_SET_TUNNEL] = SET("tunnel_ports", CAT2(T_PROTO, T_SERVICE), 8),
        [ND_SET_PEERS4] = SET("peers4", T_IPADDR, 4),
        [ND_SET_CTRL4] = SET("control4", CAT3(T_IPADDR, T_PROTO, T_SERVICE), 12),
        [ND_SET_CTRLPORT] = SET("control_ports", CAT2(T_PROTO, T_SERVICE), 8),
        [ND_SET_SVC_VIPS4] = SET("svc_vips4", CAT2(T_IFNAME, T_IPADDR), 20),
        [ND_SET_SVC_BE4] = MAP("svc_backends4", CAT2(T_IPADDR, T_SLOT), 8, T_IPADDR, 4),
        [ND_SET_SVC_REMOTE4] = SET("svc_remote4", T_IPADDR, 4),
        [ND_SET_SVC_SNAT4] = MAP("svc_snat4", T_IFNAME, 16, T_IPADDR, 4),
        [ND_SET_MESH4] = MAP("mesh4", CAT3(T_PROTO, T_SERVICE, T_SLOT), 12, CAT2(T_IPADDR, T_SERVICE), 8),
#define BSET(n, kt, kl) { .name = n, .key_type = kt, .key_len = kl, .family = NFPROTO_BRIDGE }
        [ND_SET_PORTS] = BSET("ports", T_IFNAME, 16),
        /* a MAC is 6 bytes in an 8-byte register slot */
        [ND_SET_PORT_MAC] = BSET("port_mac", CAT2(T_IFNAME, T_ETHERADDR), 24),
        [ND_SET_PORT_IP4] = BSET("port_ip4", CAT2(T_IFNAME, T_IPADDR), 20),
        [ND_SET_PORT_IP6] = BSET("port_ip6", CAT2(T_IFNAME, T_IP6ADDR), 32),
        [ND_SET_NO_ICC] = BSET("no_icc_ports", T_IFNAME, 16),
        [ND_SET_PUBT4] = BSET("published4", CAT3(T_IPADDR, T_PROTO, T_SERVICE), 12),
        [ND_SET_PUBT6] = BSET("published6", CAT3(T_IP6ADDR, T_PROTO, T_SERVICE), 24),
#undef BSET
#undef SET
#undef MAP
};

/* One element in a message: its nest, flags, key and data, each attribute
 * with its 4-byte header (the value padded to 4). */
#define ELEM_BYTES_MAX (4 + 8 + (4 + 4 + ND_NFT_KEY_MAX) + (4 + 4 + ND_NFT_DATA_MAX))
#define ELEMS_PER_MSG 256
/* what precedes the elements (headers, table and set names, set id) */
_Static_assert(ELEMS_PER_MSG * ELEM_BYTES_MAX + 512 <= ND_NFT_MSG_MAX, "a set element message outgrows a batch page");

/* ---- elements ---- */

/* An interface name is cut to IFNAMSIZ - 1 bytes and zero-padded. */
static void put_ifname(uint8_t *dst, const char *name) {
        memset(dst, 0, 16);
        strncpy((char *) dst, name, 15);
}

void nd_nft_elem_ifname(nd_nft_elem *e, nd_nft_set set, const char *ifname) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 16 };
        put_ifname(e->key, ifname);
}

void nd_nft_elem_ifname2(nd_nft_elem *e, nd_nft_set set, const char *a, const char *b) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 32 };
        put_ifname(e->key, a);
        put_ifname(e->key + 16, b);
}

void nd_nft_elem_ifaddr(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t *addr, size_t alen) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) (16 + alen) };
        put_ifname(e->key, ifname);
        memcpy(e->key + 16, addr, alen);
}

void nd_nft_elem_ifmac(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t mac[6]) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 24 };
        put_ifname(e->key, ifname);
        memcpy(e->key + 16, mac, 6);
}

void nd_nft_elem_addr(nd_nft_elem *e, nd_nft_set set, const uint8_t *addr, size_t alen, bool end) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) alen, .interval_end = end };
        memcpy(e->key, addr, alen);
}

/* Concatenation fields are padded to 32-bit registers. */
void nd_nft_elem_pub(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, uint8_t proto, uint16_t port,
                     const uint8_t *ctr, size_t alen, uint16_t ctr_port) {
        uint16_t be = htons(port), cbe = htons(ctr_port);
        size_t k = 0;

        *e = (nd_nft_elem) { .set = (uint8_t) set };
        if (host) {
                memcpy(e->key, host, alen);
                k = alen;
        }
        e->key[k] = proto;
        memcpy(e->key + k + 4, &be, 2);
        e->klen = (uint8_t) (k + 8);
        memcpy(e->data, ctr, alen);
        memcpy(e->data + alen, &cbe, 2);
        e->dlen = (uint8_t) (alen + 4);
}

void nd_nft_elem_service(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, size_t alen, uint8_t proto,
                         uint16_t port) {
        uint16_t be = htons(port);
        size_t k = host ? alen : 0;
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) (k + 8) };
        if (host)
                memcpy(e->key, host, alen);
        e->key[k] = proto;
        memcpy(e->key + k + 4, &be, 2);
}

void nd_nft_elem_ifname_addr4(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t addr[4]) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 16, .dlen = 4 };
        put_ifname(e->key, ifname);
        memcpy(e->data, addr, 4);
}

/* A slot is compared with what numgen left in its register: a u32 in host
 * byte order, unlike the network-order fields beside it. */
void nd_nft_elem_vip_slot(nd_nft_elem *e, const uint8_t vip[4], uint32_t slot, const uint8_t backend[4]) {
        *e = (nd_nft_elem) { .set = ND_SET_SVC_BE4, .klen = 8, .dlen = 4 };
        memcpy(e->key, vip, 4);
        memcpy(e->key + 4, &slot, 4);
        memcpy(e->data, backend, 4);
}

void nd_nft_elem_mesh_slot(nd_nft_elem *e, uint8_t proto, uint16_t port, uint32_t slot, const uint8_t addr[4],
                           uint16_t target) {
        uint16_t be = htons(port), tbe = htons(target);
        *e = (nd_nft_elem) { .set = ND_SET_MESH4, .klen = 12, .dlen = 8 };
        e->key[0] = proto;
        memcpy(e->key + 4, &be, 2);
        memcpy(e->key + 8, &slot, 4);
        memcpy(e->data, addr, 4);
        memcpy(e->data + 4, &tbe, 2);
}

bool nd_nft_elem_equal(const nd_nft_elem *a, const nd_nft_elem *b) {
        return a->set == b->set && a->interval_end == b->interval_end && a->klen == b->klen && a->dlen == b->dlen &&
               memcmp(a->key, b->key, a->klen) == 0 && memcmp(a->data, b->data, a->dlen) == 0;
}

/* ---- sets in a batch ---- */

const char *nd_nft_set_name(nd_nft_set s) {
        return sets[s].name;
}

uint16_t nd_nft_set_family(nd_nft_set s) {
        return sets[s].family ? sets[s].family : NFPROTO_INET;
}

static struct nftnl_set *set_obj(nd_nft_set s, bool full) {
        struct nftnl_set *o = nftnl_set_alloc();
        if (!o)
                return NULL;
        nftnl_set_set_str(o, NFTNL_SET_TABLE, ND_NFT_TABLE);
        nftnl_set_set_str(o, NFTNL_SET_NAME, sets[s].name);
        nftnl_set_set_u32(o, NFTNL_SET_FAMILY, nd_nft_set_family(s));
        nftnl_set_set_u32(o, NFTNL_SET_ID, (uint32_t) s + 1);
        if (full) {
                nftnl_set_set_u32(o, NFTNL_SET_KEY_TYPE, sets[s].key_type);
                nftnl_set_set_u32(o, NFTNL_SET_KEY_LEN, sets[s].key_len);
                nftnl_set_set_u32(o, NFTNL_SET_FLAGS, sets[s].flags);
                if (sets[s].flags & NFT_SET_MAP) {
                        nftnl_set_set_u32(o, NFTNL_SET_DATA_TYPE, sets[s].data_type);
                        nftnl_set_set_u32(o, NFTNL_SET_DATA_LEN, sets[s].data_len);
                }
                if (sets[s].key_type == T_IFNAME) {
                        /* only for `nft list`: an interface name is a
                         * host-order string (nft's BYTEORDER_HOST_ENDIAN) */
                        struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
                        if (u) {
                                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
                                nftnl_set_set_data(o, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
                                                   nftnl_udata_buf_len(u));
                                nftnl_udata_buf_free(u);
                        }
                }
        }
        return o;
}

int nd_nft_batch_put_sets(nd_nft_batch *bt) {
        for (int s = 0; s < _ND_SET_MAX; s++) {
                struct nftnl_set *o = set_obj((nd_nft_set) s, true);
                if (!o)
                        return -ENOMEM;
                struct nlmsghdr *h = nd_nft_batch_msg(bt, NFT_MSG_NEWSET, nd_nft_set_family((nd_nft_set) s),
                                                      NLM_F_CREATE);
                nftnl_set_nlmsg_build_payload(h, o);
                nd_nft_batch_msg_done(bt);
                nftnl_set_free(o);
        }
        return 0;
}

/* Add the elements of @set among @elems as NEW/DELSETELEM messages of at
 * most ELEMS_PER_MSG each. */
int nd_nft_batch_put_elems(nd_nft_batch *bt, int type, nd_nft_set set, const nd_nft_elem *const *elems, size_t n) {
        struct nftnl_set *o = NULL;
        size_t in_msg = 0;

        for (size_t i = 0; i <= n; i++) {
                if (o && (i == n || in_msg == ELEMS_PER_MSG)) {
                        struct nlmsghdr *h = nd_nft_batch_msg(bt, type, nd_nft_set_family(set),
                                                              type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
                        nftnl_set_elems_nlmsg_build_payload(h, o);
                        nd_nft_batch_msg_done(bt);
                        nftnl_set_free(o);
                        o = NULL;
                        in_msg = 0;
                }
                if (i == n)
                        break;
                if (elems[i]->set != set)
                        continue;
                if (!o && !(o = set_obj(set, false)))
                        return -ENOMEM;
                struct nftnl_set_elem *e = nftnl_set_elem_alloc();
                if (!e) {
                        nftnl_set_free(o);
                        return -ENOMEM;
                }
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, elems[i]->key, elems[i]->klen);
                if (elems[i]->dlen)
                        nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, elems[i]->data, elems[i]->dlen);
                if (elems[i]->interval_end)
                        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
                nftnl_set_elem_add(o, e);
                in_msg++;
        }
        return 0;
}
