/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "firewall.h"
#include "metrics.h"
#include "hmap.h"
#include "log.h"
#include "macro.h"
#include "network.h"

#define REPAIR_DELAY 0.05  /* let a burst of foreign events settle */

struct nd_fw_owner {
        struct nd_fw_owner *prev, *next;
        char what[96];
        nd_nft_elem *elems;
        size_t n;
};

struct nd_fw {
        struct ev_loop *loop;
        nd_nft *nft;
        int mon_fd;
        ev_io mon_io;
        ev_timer repair;
        nd_fw_owner *owners;
        nd_hmap *ports;           /* ifname -> struct fw_port */
        size_t n_elems;
        bool synced;
        char who[64];
        unsigned repairs;
        double last_repair;
        void (*repaired)(void *userdata, const char *by, int r);
        void *repaired_userdata;
};

struct fw_port {
        char ifname[16];          /* the map's key */
        nd_fw_owner *o;
};

static void on_repair(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_fw *fw = container_of(w, nd_fw, repair);
        int r = nd_fw_sync(fw);
        fw->repairs++;
        fw->last_repair = ev_now(loop);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "restoring the nftables table failed", "table=inet/%s by=%s", ND_NFT_TABLE,
                             fw->who[0] ? fw->who : "unknown");
        else
                nd_log(LOG_WARNING, "nftables table was changed by another process; restored", "table=inet/%s by=%s "
                       "elements=%zu", ND_NFT_TABLE, fw->who[0] ? fw->who : "unknown", fw->n_elems);
        if (fw->repaired)
                fw->repaired(fw->repaired_userdata, fw->who, r);
        fw->who[0] = 0;
}

static void on_monitor(struct ev_loop *loop, ev_io *w, int revents) {
        nd_fw *fw = container_of(w, nd_fw, mon_io);
        /* a repair already pending: the writer's name may still come */
        bool foreign = ev_is_active(&fw->repair);
        int r = nd_nft_monitor_read(fw->mon_fd, nd_nft_portid(fw->nft), &foreign, fw->who, sizeof(fw->who));
        if (r < 0 && r != -ENOBUFS)
                nd_log_errno(LOG_WARNING, r, "reading nftables events failed");
        if (foreign && fw->synced && !ev_is_active(&fw->repair)) {
                ev_timer_set(&fw->repair, REPAIR_DELAY, 0.);
                ev_timer_start(loop, &fw->repair);
        }
}

int nd_fw_new(struct ev_loop *loop, nd_fw **ret) {
        nd_fw *fw = calloc(1, sizeof(*fw));
        int r;
        if (!fw)
                return -ENOMEM;
        fw->loop = loop;
        fw->mon_fd = -1;
        r = nd_nft_open(&fw->nft);
        if (r < 0)
                goto fail;
        r = nd_hmap_new(&fw->ports);
        if (r < 0)
                goto fail;
        fw->mon_fd = nd_nft_monitor_open();
        if (fw->mon_fd < 0) {
                r = fw->mon_fd;
                goto fail;
        }
        ev_io_init(&fw->mon_io, on_monitor, fw->mon_fd, EV_READ);
        ev_io_start(loop, &fw->mon_io);
        ev_timer_init(&fw->repair, on_repair, REPAIR_DELAY, 0.);
        *ret = fw;
        return 0;
fail:
        nd_fw_free(fw);
        return r;
}

void nd_fw_set_repair_hook(nd_fw *fw, void (*fn)(void *userdata, const char *by, int r), void *userdata) {
        if (!fw)
                return;
        fw->repaired = fn;
        fw->repaired_userdata = userdata;
}

nd_fw *nd_fw_free(nd_fw *fw) {
        if (!fw)
                return NULL;
        if (fw->mon_fd >= 0) {
                ev_io_stop(fw->loop, &fw->mon_io);
                close(fw->mon_fd);
        }
        ev_timer_stop(fw->loop, &fw->repair);
        if (fw->ports) {
                nd_hmap_iter it = {0};
                struct fw_port *p;
                while ((p = nd_hmap_next(fw->ports, &it)))
                        free(nd_hmap_remove(fw->ports, p->ifname));
                nd_hmap_free(fw->ports);
        }
        /* the kernel keeps the elements: forged traffic stays dropped
         * while netd is down */
        while (fw->owners) {
                nd_fw_owner *o = fw->owners;
                fw->owners = o->next;
                free(o->elems);
                free(o);
        }
        nd_nft_free(fw->nft);
        free(fw);
        return NULL;
}

nd_fw_owner *nd_fw_owner_new(nd_fw *fw, const char *what) {
        nd_fw_owner *o = calloc(1, sizeof(*o));
        if (!o)
                return NULL;
        snprintf(o->what, sizeof(o->what), "%s", what);
        o->next = fw->owners;
        if (fw->owners)
                fw->owners->prev = o;
        fw->owners = o;
        return o;
}

void nd_fw_owner_free(nd_fw *fw, nd_fw_owner *o) {
        if (!o)
                return;
        (void) nd_fw_owner_set(fw, o, NULL, 0);
        if (o->prev)
                o->prev->next = o->next;
        else
                fw->owners = o->next;
        if (o->next)
                o->next->prev = o->prev;
        free(o->elems);
        free(o);
}

/* A total order on elements that agrees with nd_nft_elem_equal(). */
static int elem_cmp(const nd_nft_elem *a, const nd_nft_elem *b) {
        if (a->set != b->set)
                return a->set < b->set ? -1 : 1;
        if (a->interval_end != b->interval_end)
                return a->interval_end < b->interval_end ? -1 : 1;
        if (a->klen != b->klen)
                return a->klen < b->klen ? -1 : 1;
        if (a->dlen != b->dlen)
                return a->dlen < b->dlen ? -1 : 1;
        int c = memcmp(a->key, b->key, a->klen);
        return c ? c : memcmp(a->data, b->data, a->dlen);
}

static int elem_ptr_cmp(const void *a, const void *b) {
        return elem_cmp(*(const nd_nft_elem *const *) a, *(const nd_nft_elem *const *) b);
}

/* @v sorted, @i at one element: the index past it and its duplicates */
static size_t skip_equal(const nd_nft_elem **v, size_t n, size_t i) {
        size_t j = i + 1;
        while (j < n && elem_cmp(v[j], v[i]) == 0)
                j++;
        return j;
}

int nd_fw_elems_diff(const nd_nft_elem *old, size_t n_old, const nd_nft_elem *want, size_t n_want,
                     const nd_nft_elem ***ret_del, size_t *ret_n_del, const nd_nft_elem ***ret_add,
                     size_t *ret_n_add) {
        const nd_nft_elem **a = malloc((n_old + 1) * sizeof(*a)), **b = malloc((n_want + 1) * sizeof(*b));
        size_t i = 0, j = 0, n_del = 0, n_add = 0;

        if (!a || !b) {
                free(a);
                free(b);
                return -ENOMEM;
        }
        for (size_t k = 0; k < n_old; k++)
                a[k] = &old[k];
        for (size_t k = 0; k < n_want; k++)
                b[k] = &want[k];
        qsort(a, n_old, sizeof(*a), elem_ptr_cmp);
        qsort(b, n_want, sizeof(*b), elem_ptr_cmp);
        /* merge; what only one side has is compacted in place (the write
         * index never passes the read index) */
        while (i < n_old || j < n_want) {
                int c = i == n_old ? 1 : j == n_want ? -1 : elem_cmp(a[i], b[j]);
                if (c < 0) {
                        a[n_del++] = a[i];
                        i = skip_equal(a, n_old, i);
                } else if (c > 0) {
                        b[n_add++] = b[j];
                        j = skip_equal(b, n_want, j);
                } else {
                        i = skip_equal(a, n_old, i);
                        j = skip_equal(b, n_want, j);
                }
        }
        *ret_del = a;
        *ret_n_del = n_del;
        *ret_add = b;
        *ret_n_add = n_add;
        return 0;
}

int nd_fw_owner_set(nd_fw *fw, nd_fw_owner *o, const nd_nft_elem *elems, size_t n) {
        nd_nft_elem *copy = NULL, *old = o->elems;
        size_t n_old = o->n;
        int r = 0;

        if (n) {
                copy = malloc(n * sizeof(*copy));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, elems, n * sizeof(*copy));
        }
        if (fw->synced) {
                const nd_nft_elem **del, **add;
                size_t n_del, n_add;
                r = nd_fw_elems_diff(old, n_old, copy, n, &del, &n_del, &add, &n_add);
                if (r < 0) {
                        free(copy);
                        return r;
                }
                r = nd_nft_update(fw->nft, del, n_del, add, n_add);
                free(del);
                free(add);
                if (r < 0) {
                        /* the kernel's table is not what we think (an
                         * element someone removed): rebuild it whole */
                        nd_log_errno(LOG_WARNING, r, "nftables update failed; replacing the table", "owner=\"%s\"",
                                     o->what);
                        o->elems = copy;
                        o->n = n;
                        r = nd_fw_sync(fw);
                        if (r < 0) {
                                o->elems = old;
                                o->n = n_old;
                                free(copy);
                                (void) nd_fw_sync(fw);
                                return r;
                        }
                        free(old);
                        return 0;
                }
        }
        fw->n_elems = fw->n_elems - n_old + n;
        o->elems = copy;
        o->n = n;
        free(old);
        return 0;
}

int nd_fw_sync(nd_fw *fw) {
        size_t total = 0, k = 0;
        for (nd_fw_owner *o = fw->owners; o; o = o->next)
                total += o->n;
        nd_nft_elem *all = malloc((total + 1) * sizeof(*all));
        if (!all)
                return -ENOMEM;
        for (nd_fw_owner *o = fw->owners; o; o = o->next) {
                if (o->n) /* an owner holding nothing may have no array */
                        memcpy(all + k, o->elems, o->n * sizeof(*all));
                k += o->n;
        }
        int r = nd_nft_replace(fw->nft, all, total);
        free(all);
        if (r < 0)
                return r;
        fw->n_elems = total;
        fw->synced = true;
        return 0;
}

int nd_fw_cleanup(void) {
        nd_nft *n;
        int r = nd_nft_open(&n);
        if (r < 0)
                return r;
        r = nd_nft_delete_table(n);
        nd_nft_free(n);
        return r;
}

void nd_fw_metrics(const nd_fw *fw, nd_expo *e) {
        nd_expo_family(e, "netd_firewall_enabled", "gauge", "1 when netd programs nftables.");
        nd_expo_sample(e, "netd_firewall_enabled", NULL, fw ? 1 : 0);
        nd_expo_family(e, "netd_firewall_elements", "gauge", "Set and map elements netd holds in its tables.");
        nd_expo_sample(e, "netd_firewall_elements", NULL, fw ? (double) fw->n_elems : 0);
        nd_expo_family(e, "netd_firewall_guarded_ports", "gauge", "Endpoint ports under anti-spoofing.");
        nd_expo_sample(e, "netd_firewall_guarded_ports", NULL, fw ? (double) nd_hmap_size(fw->ports) : 0);
        nd_expo_family(e, "netd_firewall_repairs_total", "counter", "Times netd restored its tables after someone else changed them.");
        nd_expo_sample(e, "netd_firewall_repairs_total", NULL, fw ? fw->repairs : 0);
        nd_nft_metrics(fw ? fw->nft : NULL, e);
}

json_t *nd_fw_status(const nd_fw *fw) {
        if (!fw)
                return json_pack("{s:b}", "Enabled", 0);
        return json_pack("{s:b, s:s, s:I, s:i, s:I}", "Enabled", 1, "Table", "inet " ND_NFT_TABLE, "Elements",
                         (json_int_t) fw->n_elems, "Repairs", (int) fw->repairs, "LastRepairUnix",
                         (json_int_t) fw->last_repair);
}

size_t nd_fw_port_elems(const char *ifname, const uint8_t mac[6], const nd_addr *a4, const nd_addr *a6,
                        bool isolated, nd_nft_elem *out) {
        size_t k = 0;
        nd_nft_elem_ifname(&out[k++], ND_SET_PORTS, ifname);
        nd_nft_elem_ifmac(&out[k++], ND_SET_PORT_MAC, ifname, mac);
        if (a4 && a4->family == AF_INET)
                nd_nft_elem_ifaddr(&out[k++], ND_SET_PORT_IP4, ifname, a4->b, 4);
        if (a6 && a6->family == AF_INET6)
                nd_nft_elem_ifaddr(&out[k++], ND_SET_PORT_IP6, ifname, a6->b, 16);
        if (isolated)
                nd_nft_elem_ifname(&out[k++], ND_SET_NO_ICC, ifname);
        return k;
}

int nd_fw_port_set(nd_fw *fw, const char *ifname, const uint8_t mac[6], const nd_addr *a4, const nd_addr *a6,
                   bool isolated) {
        nd_nft_elem elems[ND_FW_PORT_ELEMS_MAX];
        size_t len = ifname ? strlen(ifname) : 0;
        int r;

        if (!fw)
                return 0;
        if (len == 0 || len >= sizeof(((struct fw_port *) NULL)->ifname))
                return -EINVAL;
        struct fw_port *p = nd_hmap_get(fw->ports, ifname);
        if (!p) {
                char what[32];
                p = calloc(1, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                memcpy(p->ifname, ifname, len + 1);
                snprintf(what, sizeof(what), "port %s", ifname);
                p->o = nd_fw_owner_new(fw, what);
                if (!p->o || (r = nd_hmap_put(fw->ports, p->ifname, p)) < 0) {
                        nd_fw_owner_free(fw, p->o);
                        free(p);
                        return -ENOMEM;
                }
        }
        return nd_fw_owner_set(fw, p->o, elems, nd_fw_port_elems(ifname, mac, a4, a6, isolated, elems));
}

void nd_fw_port_clear(nd_fw *fw, const char *ifname) {
        if (!fw || !ifname)
                return;
        struct fw_port *p = nd_hmap_remove(fw->ports, ifname);
        if (!p)
                return;
        nd_fw_owner_free(fw, p->o);
        free(p);
}

size_t nd_fw_network_elems(const nd_network *n, nd_nft_elem *out) {
        char br[16];
        size_t k = 0;

        nd_bridge_name(n, br, sizeof(br));
        nd_nft_elem_ifname(&out[k++], ND_SET_BRIDGES, br);
        nd_nft_elem_ifname2(&out[k++], ND_SET_SAME, br, br);
        if (n->spec.internal)
                nd_nft_elem_ifname(&out[k++], ND_SET_INTERNAL, br);
        for (size_t i = 0; i < n->spec.n_ipam && i < ND_NETWORK_MAX_SUBNETS; i++) {
                const nd_ipam_config *c = &n->spec.ipam[i];
                bool v6 = c->subnet.addr.family == AF_INET6;
                size_t alen = v6 ? 16 : 4;
                nd_addr first, end;
                nd_u128 last = nd_prefix_last(&c->subnet);

                nd_addr_from_u128(c->subnet.addr.family, nd_prefix_first(&c->subnet), &first);
                nd_nft_elem_addr(&out[k++], v6 ? ND_SET_SUB6 : ND_SET_SUB4, first.b, alen, false);
                /* the closing element is one past the last address; a
                 * subnet that reaches the top of the space has none */
                if (last != (v6 ? ~(nd_u128) 0 : (nd_u128) UINT32_MAX)) {
                        nd_addr_from_u128(c->subnet.addr.family, last + 1, &end);
                        nd_nft_elem_addr(&out[k++], v6 ? ND_SET_SUB6 : ND_SET_SUB4, end.b, alen, true);
                }
                if (c->gateway.family)
                        nd_nft_elem_ifaddr(&out[k++], v6 ? ND_SET_GW6 : ND_SET_GW4, br, c->gateway.b, alen);
        }
        return k;
}

size_t nd_fw_binding_elems(const nd_port_binding *b, const nd_addr *a4, const nd_addr *a6,
                           nd_nft_elem out[ND_FW_BINDING_ELEMS_MAX]) {
        size_t k = 0;
        int fam = b->host_ip.family;
        bool any = nd_port_ip_unspecified(&b->host_ip);

        if (a4->family == AF_INET && (fam == 0 || fam == AF_INET))
                nd_nft_elem_pub(&out[k++], any ? ND_SET_PUB4 : ND_SET_PUB4A, any ? NULL : b->host_ip.b, b->proto,
                                b->host_port, a4->b, 4, b->ctr_port);
        if (a6->family == AF_INET6 && (fam == 0 || fam == AF_INET6))
                nd_nft_elem_pub(&out[k++], any ? ND_SET_PUB6 : ND_SET_PUB6A, any ? NULL : b->host_ip.b, b->proto,
                                b->host_port, a6->b, 16, b->ctr_port);
        /* the container ends, for enable_icc=false (nft-rules.c) */
        for (size_t i = 0, n = k; i < n; i++) {
                bool v6 = out[i].set == ND_SET_PUB6 || out[i].set == ND_SET_PUB6A;
                nd_nft_elem_service(&out[k++], v6 ? ND_SET_PUBT6 : ND_SET_PUBT4, v6 ? a6->b : a4->b, v6 ? 16 : 4,
                                    b->proto, b->ctr_port);
        }
        return k;
}

/* The IPv4 addresses among @backends, at most ND_SVC_SLOTS (more could
 * get no slot). */
static size_t backends4(const nd_addr *backends, size_t n, const nd_addr **out) {
        size_t k = 0;
        for (size_t i = 0; i < n && k < ND_SVC_SLOTS; i++)
                if (backends[i].family == AF_INET)
                        out[k++] = &backends[i];
        return k;
}

size_t nd_fw_vip_elems(const char *ifname, const nd_addr *vip, const nd_addr *backends, size_t n, nd_nft_elem *out) {
        const nd_addr *v4[ND_SVC_SLOTS];
        size_t k = 0;

        if (!vip || vip->family != AF_INET)
                return 0;
        nd_nft_elem_ifaddr(&out[k++], ND_SET_SVC_VIPS4, ifname, vip->b, 4);
        n = backends4(backends, n, v4);
        for (uint32_t s = 0; n > 0 && s < ND_SVC_SLOTS; s++)
                nd_nft_elem_vip_slot(&out[k++], vip->b, s, v4[s % n]->b);
        return k;
}

size_t nd_fw_mesh_elems(uint8_t proto, uint16_t port, const nd_addr *backends, size_t n, uint16_t target,
                        nd_nft_elem *out) {
        const nd_addr *v4[ND_SVC_SLOTS];

        n = backends4(backends, n, v4);
        if (n == 0)
                return 0;
        for (uint32_t s = 0; s < ND_SVC_SLOTS; s++)
                nd_nft_elem_mesh_slot(&out[s], proto, port, s, v4[s % n]->b, target);
        return ND_SVC_SLOTS;
}

size_t nd_fw_remote_elem(const nd_addr *a, nd_nft_elem *out) {
        if (!a || a->family != AF_INET)
                return 0;
        nd_nft_elem_addr(out, ND_SET_SVC_REMOTE4, a->b, 4, false);
        return 1;
}

size_t nd_fw_snat_elem(const char *ifname, const nd_addr *a, nd_nft_elem *out) {
        if (!a || a->family != AF_INET)
                return 0;
        nd_nft_elem_ifname_addr4(out, ND_SET_SVC_SNAT4, ifname, a->b);
        return 1;
}
