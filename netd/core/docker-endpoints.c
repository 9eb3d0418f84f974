/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's endpoints (docker.h).  CreateEndpoint reserves the addresses
 * (Docker's own IPAM: the address Docker chose, owned "docker:<EndpointID>",
 * so netd's IPAM never hands it out twice).  Join makes a veth pair in
 * netd's namespace (host end on the bridge) and returns the other end for
 * dockerd to move into the sandbox, as its bridge driver does; Leave
 * deletes it.  ProgramExternalConnectivity holds and programs the
 * endpoint's published ports in netd's nftables maps like a netd
 * container's (publish.c); a port is given to one owner only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge.h"
#include "diag.h"
#include "docker-internal.h"
#include "docker-proto.h"
#include "firewall.h"
#include "json-util.h"
#include "link-reaper.h"
#include "log.h"
#include "manager-internal.h"
#include "nl-link.h"
#include "subnet.h"

static void ep_forget(struct nd_docker_call *c) {
        nd_manager *m = c->m;
        nd_network *n = NULL;
        nd_fw_port_clear(m->fw, c->ep->host_if);
        nd_docker_ep_publish(m, c->ep, false);
        nd_docker_ep_names(m, c->ep, false);
        nd_docker_ep_task(m, c->ep, false);
        if (nd_manager_network_find(m, c->ep->net_id, &n) == 0) {
                if (c->ep->own4)
                        nd_subnet_release(nd_network_subnet_for(n, &c->ep->a4), &c->ep->a4);
                if (c->ep->own6)
                        nd_subnet_release(nd_network_subnet_for(n, &c->ep->a6), &c->ep->a6);
        }
        nd_publish_release(m, &c->ep->pub);
        nd_docker_vec_drop((void **) m->dplug->eps, &m->dplug->n_eps, c->ep);
        nd_docker_ep_free(c->ep);
        c->ep = NULL;
}

/* Take @want (a/len, or "" for the next free one when @alloc) on @n. */
static int ep_addr(nd_network *n, bool pooled, int family, const char *want, bool alloc, nd_addr *a,
                   unsigned *plen, bool *own, nd_diag *d) {
        char s[ND_ADDR_STRLEN];
        nd_subnet *sub;
        int r;
        *own = false;
        if (want && *want) {
                if (nd_docker_cidr_parse(want, a, plen) < 0 || a->family != family)
                        return nd_diag_set(d, -EINVAL, "invalid address '%.64s'", want);
                sub = nd_network_subnet_for(n, a);
                if (!sub)
                        return nd_diag_set(d, -EINVAL, "address %s is not in a subnet of network '%s'",
                                           nd_addr_fmt(a, s), n->spec.name);
                if (pooled && nd_subnet_is_allocated(sub, a))
                        return 0; /* netd's IPAM driver gave it out for this endpoint */
                if (nd_network_is_global(n))
                        return nd_diag_set(d, -EINVAL, "address %s was not given out by netd's IPAM driver: on an "
                                           "overlay network every address comes from it", nd_addr_fmt(a, s));
                r = nd_subnet_reserve(sub, a);
                if (r < 0)
                        return nd_diag_set(d, -EADDRINUSE, "address %s is %s on network '%s'", nd_addr_fmt(a, s),
                                           r == -EEXIST ? "already in use" : "not usable", n->spec.name);
                *own = true;
                return 0;
        }
        if (!alloc || !(sub = nd_network_subnet_family(n, family))) {
                *a = (nd_addr) { 0 };
                return 0;
        }
        if (nd_network_is_global(n))
                return nd_diag_set(d, -EINVAL, "an endpoint on overlay network '%s' needs an address from netd's "
                                   "IPAM driver", n->spec.name);
        if (nd_subnet_alloc(sub, a) < 0)
                return nd_diag_set(d, -ENOSPC, "no free address on network '%s'", n->spec.name);
        for (size_t k = 0; k < n->spec.n_ipam; k++)
                if (nd_prefix_contains(&n->spec.ipam[k].subnet, a))
                        *plen = n->spec.ipam[k].subnet.len;
        *own = true;
        return 0;
}

void nd_docker_endpoint_create(nd_manager *m, const nd_docker_ep_req *rq, nd_docker_done_fn done, void *userdata) {
        const char *id = rq->id, *dnet = rq->network, *a4 = rq->address, *a6 = rq->address6, *mac = rq->mac;
        struct nd_dplug *dp = nd_docker_state(m);
        nd_diag d = {0};
        int r;

        if (!nd_docker_id_valid(id) || !nd_docker_id_valid(dnet))
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "CreateEndpoint: valid NetworkID and EndpointID required" });
        if (nd_docker_ep_find(m, id))
                return nd_docker_err(done, userdata, -EEXIST, &(nd_diag) { "endpoint exists" });
        nd_network *n = nd_docker_dnet_find(m, dnet);
        if (!n)
                return nd_docker_err(done, userdata, -ENOENT, &(nd_diag) { "network not found in netd" });
        bool pooled = nd_docker_pool_of_net(m, n) != NULL;
        nd_docker_ep *e = calloc(1, sizeof(*e));
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!dp || !e || !c) {
                free(e);
                free(c);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        snprintf(e->id, sizeof(e->id), "%s", id);
        snprintf(e->dnet, sizeof(e->dnet), "%s", dnet);
        snprintf(e->net_id, sizeof(e->net_id), "%s", n->id);
        r = ep_addr(n, pooled, AF_INET, a4, true, &e->a4, &e->plen4, &e->own4, &d);
        if (r == 0 && (r = ep_addr(n, pooled, AF_INET6, a6, false, &e->a6, &e->plen6, &e->own6, &d)) < 0 && e->own4)
                nd_subnet_release(nd_network_subnet_for(n, &e->a4), &e->a4);
        if (r < 0) {
                free(e);
                free(c);
                return nd_docker_err(done, userdata, r, &d);
        }
        nd_docker_result *res = &c->res;
        if (mac && *mac)
                r = nd_docker_mac_parse(mac, e->mac);
        else {
                nd_endpoint tmp = { .addr4 = e->a4 };
                nd_bridge_mac(&tmp, e->mac);
                res->mac_chosen = true;
                memcpy(res->mac, e->mac, 6);
        }
        if (!(a4 && *a4) && e->a4.family) {
                res->addr = e->a4;
                res->plen = e->plen4;
        }
        /* host-side names: a part of the endpoint id, unique on this host */
        for (size_t off = 0; r == 0; off += 8) {
                if (off + 8 > strlen(id)) {
                        r = -EEXIST;
                        break;
                }
                snprintf(e->host_if, sizeof(e->host_if), "vdk%.8s", id + off);
                snprintf(e->peer_if, sizeof(e->peer_if), "tdk%.8s", id + off);
                bool taken = false;
                for (size_t i = 0; i < dp->n_eps; i++)
                        taken |= strcmp(dp->eps[i]->host_if, e->host_if) == 0;
                if (!taken)
                        break;
        }
        c->ep = e;
        c->undo = ep_forget;
        snprintf(c->what, sizeof(c->what), "CreateEndpoint %.12s on %s", id, n->spec.name);
        if (r < 0 || ND_DOCKER_PUSH(dp->eps, dp->n_eps, dp->cap_eps, e) < 0) {
                if (e->own4)
                        nd_subnet_release(nd_network_subnet_for(n, &e->a4), &e->a4);
                if (e->own6)
                        nd_subnet_release(nd_network_subnet_for(n, &e->a6), &e->a6);
                free(e);
                c->ep = NULL;
                c->undo = NULL;
                nd_diag_set(&d, r < 0 ? r : -ENOMEM,
                            r == -EINVAL ? "invalid MacAddress" : "cannot name the endpoint's interfaces");
                nd_docker_err(done, userdata, r < 0 ? r : -ENOMEM, &d);
                return nd_docker_call_free(c);
        }
        /* the record and the addresses it reserved, in one transaction */
        char key[256], owner[256], created[32];
        snprintf(owner, sizeof(owner), "docker:%s", id);
        snprintf(created, sizeof(created), "%" PRId64, now_us() / 1000000);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *k_ep = nd_store_txn_keyf(t, ND_KEY_DOCKER_ENDPOINTS "%s", id);
        (void) nd_store_txn_cmp_absent(t, k_ep);
        (void) nd_store_txn_put_json_new(t, k_ep, nd_docker_ep_record(e));
        _cleanup_json_ json_t *rec = json_pack("{s:s, s:s}", "Owner", owner, "Created", created);
        const nd_addr *as[2] = { e->own4 ? &e->a4 : NULL, e->own6 ? &e->a6 : NULL };
        for (int f = 0; f < 2; f++) {
                if (!as[f])
                        continue;
                addr_key(n, as[f], key, sizeof(key));
                (void) nd_store_txn_put_json(t, key, rec);
        }
        nd_docker_call_submit(c, t);
}

/* Queue @run for after the Leave in progress on @e; false: none is. */
static bool after_leave(nd_docker_ep *e, void (*run)(nd_manager *m, const char *id, nd_docker_done_fn done,
                                                     void *userdata),
                        nd_docker_done_fn done, void *userdata) {
        if (!e || !e->leaving)
                return false;
        struct nd_docker_later *l = calloc(1, sizeof(*l)), **tail = &e->later;
        if (!l) {
                nd_docker_err(done, userdata, -ENOMEM, NULL);
                return true;
        }
        *l = (struct nd_docker_later) { .run = run, .done = done, .userdata = userdata };
        while (*tail)
                tail = &(*tail)->next;
        *tail = l;
        return true;
}

/* DeleteEndpoint's host end is gone: a peer left without it goes too. */
struct peer_gone {
        nd_manager *m;
        char peer[16];
};

static void on_host_end_gone(void *userdata, int r) {
        struct peer_gone *pg = userdata;
        if (pg && r == -ENODEV && pg->peer[0])
                (void) nd_reaper_delete_name(pg->m->reaper, pg->m->nl, pg->peer, NULL, NULL);
        free(pg);
}

void nd_docker_endpoint_delete(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_docker_ep *e = nd_docker_ep_find(m, id);
        nd_network *n = NULL;
        if (!e)
                return nd_docker_ok(done, userdata);
        if (after_leave(e, nd_docker_endpoint_delete, done, userdata))
                return;
        if (e->busy)
                return nd_docker_err(done, userdata, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        /* the kernel side first: it is ours alone.  A pair dockerd never
         * moved goes with its host end, a lone peer by its own name, both
         * off the loop; after a Leave, the usual order, both are gone and
         * the reaper says -ENODEV.  The port's elements go with the pair. */
        struct peer_gone *pg = calloc(1, sizeof(*pg));
        nd_docker_spec b;
        nd_docker_ep_spec(e, NULL, &b);
        if (pg) {
                pg->m = m;
                snprintf(pg->peer, sizeof(pg->peer), "%s", e->peer_if);
        }
        nd_endpoint_unwire_async(m, ND_EP_DOCKER, &b.ep, on_host_end_gone, pg);
        e->joined = false;
        nd_publish_release(m, &e->pub);
        c->ep = e;
        c->commit = ep_forget;
        snprintf(c->what, sizeof(c->what), "DeleteEndpoint %.12s", e->id);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_DOCKER_ENDPOINTS "%s", e->id));
        if (nd_manager_network_find(m, e->net_id, &n) == 0)
                addr_records(t, n, e->own4 ? &e->a4 : NULL, e->own6 ? &e->a6 : NULL, NULL);
        nd_docker_call_submit(c, t);
}

int nd_docker_endpoint_info(nd_manager *m, const char *id, nd_docker_ep_info *ret) {
        const nd_docker_ep *e = nd_docker_ep_find(m, id);
        if (!e)
                return -ENOENT;
        *ret = (nd_docker_ep_info) { .host_if = e->host_if, .net_id = e->net_id, .pub = &e->pub };
        memcpy(ret->mac, e->mac, 6);
        return 0;
}

int nd_docker_endpoint_ready(nd_manager *m, const char *id, nd_diag *d) {
        const nd_docker_ep *e = nd_docker_ep_find(m, id);
        if (!e)
                return nd_diag_set(d, -ENOENT, "endpoint not found");
        if (e->busy)
                return nd_diag_set(d, -EBUSY, "the endpoint is busy, retry");
        return 0;
}

/* A Docker endpoint's connect (joined, recorded) or disconnect (Leave). */
static void ep_event(nd_manager *m, const nd_docker_ep *e, const char *action) {
        nd_network *n = NULL;
        nd_docker_spec b;
        (void) nd_manager_network_find(m, e->net_id, &n);
        nd_docker_ep_spec(e, n, &b);
        nd_manager_event_endpoint(m, action, ND_EP_DOCKER, e->id, e->name, &b.ep);
}

static void join_done(struct nd_docker_call *c) {
        ep_event(c->m, c->ep, "connect");
        nd_docker_ep_publish(c->m, c->ep, true);
        if (c->ep->name[0]) {
                nd_docker_ep_names(c->m, c->ep, true);
                nd_docker_ep_task(c->m, c->ep, true);
        } else
                nd_docker_lookup_start(c->m, c->ep);
}

static void join_undo(struct nd_docker_call *c) {
        (void) nd_nl_link_delete(c->m->nl, c->ep->host_if);
        nd_fw_port_clear(c->m->fw, c->ep->host_if);
        c->ep->joined = false;
}

void nd_docker_endpoint_join(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_docker_ep *e = nd_docker_ep_find(m, id);
        nd_network *n = NULL;
        nd_diag d = {0};
        char g4[ND_ADDR_STRLEN] = "", g6[ND_ADDR_STRLEN] = "";
        int r;

        if (after_leave(e, nd_docker_endpoint_join, done, userdata))
                return;
        if ((r = nd_docker_endpoint_ready(m, id, &d)) < 0)
                return nd_docker_err(done, userdata, r, &d);
        if (nd_manager_network_find(m, e->net_id, &n) < 0)
                return nd_docker_err(done, userdata, -ENOENT,
                                     &(nd_diag) { "the endpoint's network is gone from netd" });
        /* a pair left over (a Join not followed by a move) goes first */
        (void) nd_nl_link_delete(m->nl, e->host_if);
        (void) nd_nl_link_delete(m->nl, e->peer_if);
        /* the pipeline's WIRE stage, the peer left for dockerd to move */
        nd_docker_spec b;
        nd_docker_ep_spec(e, n, &b);
        r = nd_endpoint_attach(m, &b.sp, ND_EP_WIRE, &d);
        if (r < 0)
                return nd_docker_err(done, userdata, r, &d);
        for (size_t i = 0; i < n->spec.n_ipam && !n->spec.internal; i++) {
                const nd_ipam_config *c = &n->spec.ipam[i];
                if (e->a4.family && nd_prefix_contains(&c->subnet, &e->a4) && !g4[0])
                        nd_addr_fmt(&c->gateway, g4);
                if (e->a6.family && nd_prefix_contains(&c->subnet, &e->a6) && !g6[0])
                        nd_addr_fmt(&c->gateway, g6);
        }
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c) {
                (void) nd_nl_link_delete(m->nl, e->host_if);
                nd_fw_port_clear(m->fw, e->host_if);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        e->joined = true;
        c->ep = e;
        c->commit = join_done;
        c->undo = join_undo;
        /* no gateway on an internal network: no default route through it */
        snprintf(c->res.peer_if, sizeof(c->res.peer_if), "%s", e->peer_if);
        memcpy(c->res.gw4, g4, sizeof(g4));
        memcpy(c->res.gw6, g6, sizeof(g6));
        snprintf(c->what, sizeof(c->what), "Join %.12s via %s", e->id, e->host_if);
        nd_docker_ep_store(c);
}

/* The Leave was answered already; its record's result is only logged. */
static void leave_answered(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        if (r < 0)
                nd_log(LOG_WARNING, "recording a Docker Leave failed", "reason=\"%s\"", d ? d->msg : "");
}

/* The Leave is recorded (or failed to be): what waited for it runs, in
 * the order it came. */
static void leave_finished(struct nd_docker_call *c) {
        nd_docker_ep *e = c->ep;
        nd_manager *m = c->m;
        struct nd_docker_later *l = e->later;
        char id[sizeof(e->id)];
        e->later = NULL;
        e->leaving = false;
        snprintf(id, sizeof(id), "%s", e->id);
        while (l) {
                struct nd_docker_later *next = l->next;
                /* @e may go with the first of them (DeleteEndpoint) */
                l->run(m, id, l->done, l->userdata);
                free(l);
                l = next;
        }
}

/* The pair goes off the loop (link-reaper.h); the record after it. */
static void on_leave_reaped(void *userdata, int r) {
        struct nd_docker_call *c = userdata;
        if (r == -ECANCELED)
                return nd_docker_call_free(c); /* netd is stopping */
        if (r < 0 && r != -ENODEV)
                nd_log_errno(LOG_WARNING, r, "deleting an endpoint's veth failed", "ifname=%s", c->ep->host_if);
        c->ep->busy = false;
        nd_docker_ep_store(c);
}

void nd_docker_endpoint_leave(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_docker_ep *e = nd_docker_ep_find(m, id);
        nd_diag d = {0};
        int r;
        if ((r = nd_docker_endpoint_ready(m, id, &d)) < 0)
                return nd_docker_err(done, userdata, r, &d);
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        nd_docker_ep_publish(m, e, false);
        nd_docker_ep_names(m, e, false);
        nd_docker_ep_task(m, e, false);
        nd_docker_lookup_stop(e);
        ep_event(m, e, "disconnect");
        e->joined = false;
        c->ep = e;
        snprintf(c->what, sizeof(c->what), "Leave %.12s", e->id);
        /* deleting one end deletes the pair, wherever the other end is;
         * the reaper looks it up (a lookup on the loop waits for the RTNL
         * lock a delete holds through its grace period), -ENODEV if gone */
        e->busy = true; /* before: without a reaper the callback runs at once */
        /* the answer does not wait for the kernel's grace period: dockerd
         * moves on, and what it sends for this endpoint next (Join,
         * DeleteEndpoint) waits for the Leave to be recorded */
        e->leaving = true;
        c->done = leave_answered;
        c->commit = leave_finished;
        c->undo = leave_finished;
        nd_docker_ok(done, userdata);
        nd_docker_spec b;
        nd_docker_ep_spec(e, NULL, &b);
        nd_endpoint_unwire_async(m, ND_EP_DOCKER, &b.ep, on_leave_reaped, c);
}

static void ports_undo(struct nd_docker_call *c) {
        nd_publish_release(c->m, &c->ep->pub);
}

void nd_docker_endpoint_publish(nd_manager *m, const char *id, const nd_port_spec *specs, size_t n_specs,
                                nd_docker_done_fn done, void *userdata) {
        nd_docker_ep *e = nd_docker_ep_find(m, id);
        nd_network *n = NULL;
        nd_diag d = {0};
        char what[64];
        int r;

        if ((r = nd_docker_endpoint_ready(m, id, &d)) < 0)
                return nd_docker_err(done, userdata, r, &d);
        if (n_specs && (nd_manager_network_find(m, e->net_id, &n) < 0 || n->spec.internal))
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "ports cannot be published on an internal network" });
        nd_docker_ep_what(e, what, sizeof(what));
        r = nd_publish(m, &e->pub, what, specs, n_specs, &e->a4, &e->a6, true, &d);
        if (r < 0)
                return nd_docker_err(done, userdata, r, &d);
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c) {
                nd_publish_release(m, &e->pub);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        c->ep = e;
        c->undo = ports_undo;
        snprintf(c->what, sizeof(c->what), "ProgramExternalConnectivity %.12s ports=%zu", e->id, e->pub.n_bindings);
        nd_docker_ep_store(c);
}

void nd_docker_endpoint_unpublish(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_docker_ep *e = nd_docker_ep_find(m, id);
        if (!e)
                return nd_docker_ok(done, userdata);
        if (e->busy)
                return nd_docker_err(done, userdata, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        nd_publish_release(m, &e->pub);
        c->ep = e;
        snprintf(c->what, sizeof(c->what), "RevokeExternalConnectivity %.12s", e->id);
        nd_docker_ep_store(c);
}

