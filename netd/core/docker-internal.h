/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file docker-internal.h
 * The state of docker.h shared by its parts: docker.c (tables, records,
 * store calls, registries, load), docker-ipam.c (pools, addresses,
 * networks), docker-endpoints.c (endpoints) and docker-names.c (the
 * container names asked of dockerd).  Not for other modules.
 *
 * The tables (struct nd_dplug, m->dplug) own their pools, bindings and
 * endpoints; an endpoint owns its name lookup.  A call (struct
 * nd_docker_call) borrows the objects it is about while their store write
 * is in flight, marking them busy.
 */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "docker.h"
#include "endpoint.h"
#include "grow.h"
#include "network.h"
#include "store.h"
#include "txn.h"

#define LABEL_NETWORK "com.docker.network.id"
/* the container label naming its service (docs/docker.md) */
#define LABEL_SERVICE "netd.service"
#define DOCKER_ID_MAX 128

typedef struct nd_docker_pool {
        char id[ND_DOCKER_POOL_ID_LEN + 1];
        nd_prefix pool, sub;      /* sub.addr.family 0: the whole pool */
        nd_addr gateway;          /* family 0: not requested yet */
        char net_id[ND_ID_LEN + 1];/* "": a pool of its own; else an existing
                                   * netd network's subnet (--ipam-opt netd.network) */
        bool busy;
} nd_docker_pool;

/* A Docker network on an existing netd network (-o netd.network=NAME). */
typedef struct nd_docker_bind {
        char dnet[DOCKER_ID_MAX + 1];
        char net_id[ND_ID_LEN + 1];
} nd_docker_bind;

typedef struct nd_docker_ep {
        char id[DOCKER_ID_MAX + 1];
        char dnet[DOCKER_ID_MAX + 1];
        char net_id[ND_ID_LEN + 1];
        nd_addr a4, a6;
        unsigned plen4, plen6;
        bool own4, own6;          /* reserved by CreateEndpoint, released with it */
        uint8_t mac[6];
        char host_if[16], peer_if[16];
        bool joined;
        nd_published pub;
        bool busy;
        /* the container's name and aliases, learnt from dockerd's API
         * (--docker-host) after Join: the protocol does not carry them */
        char name[ND_NAME_MAX + 1];
        char aliases[ND_MAX_ALIASES][ND_NAME_MAX + 1];
        size_t n_aliases;
        /* its label netd.service, learnt with the name: the service the
         * endpoint is a task of while joined ("": none) */
        char service[ND_NAME_MAX + 1];
        struct nd_docker_lookup *lookup;
        /* Leave answered before its pair was gone: Join and DeleteEndpoint
         * of the endpoint wait in @later until the Leave is recorded */
        bool leaving;
        struct nd_docker_later *later;
} nd_docker_ep;

/* A Join or DeleteEndpoint that waits for a Leave to finish. */
struct nd_docker_later {
        void (*run)(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);
        nd_docker_done_fn done;
        void *userdata;
        struct nd_docker_later *next;
};

struct nd_dplug {
        nd_docker_pool **pools;
        size_t n_pools, cap_pools;
        nd_docker_ep **eps;
        size_t n_eps, cap_eps;
        nd_docker_bind **binds;
        size_t n_binds, cap_binds;
        void (*done)(nd_manager *m);
};

/* One store write per request. */
struct nd_docker_call {
        nd_manager *m;
        nd_docker_done_fn done;
        void *userdata;
        nd_docker_result res;          /* reported on success */
        nd_docker_pool *pool;
        nd_docker_ep *ep;
        nd_docker_bind *bind;
        void (*commit)(struct nd_docker_call *c);
        void (*undo)(struct nd_docker_call *c);
        nd_addr addr;                  /* an address the call is about */
        char what[96];                 /* for the log */
};

static inline void nd_docker_err(nd_docker_done_fn done, void *userdata, int r, const nd_diag *d) {
        done(userdata, r, d, NULL);
}

static inline void nd_docker_ok(nd_docker_done_fn done, void *userdata) {
        nd_docker_result res = {0};
        done(userdata, 0, NULL, &res);
}

/* Append @p to the table (@v, @n, @cap): 0 or -ENOMEM. */
#define ND_DOCKER_PUSH(v, n, cap, p)                                                           \
        ({                                                                                     \
                int _nd_pr = ND_GROW(v, n, cap, 1);                                            \
                if (_nd_pr == 0)                                                               \
                        (v)[(n)++] = (p);                                                      \
                _nd_pr;                                                                        \
        })

/* The tables (created on first use; NULL: out of memory). */
struct nd_dplug *nd_docker_state(nd_manager *m);
void nd_docker_vec_drop(void **v, size_t *n, const void *p);
bool nd_docker_id_valid(const char *s);
nd_docker_pool *nd_docker_pool_find(nd_manager *m, const char *id);
nd_docker_ep *nd_docker_ep_find(nd_manager *m, const char *id);
nd_docker_bind *nd_docker_bind_find(nd_manager *m, const char *dnet);
nd_network *nd_docker_net_by_id(nd_manager *m, const char *id);
/* The netd network of Docker network @dnet: one it was bound to, or the
 * one made for it. */
nd_network *nd_docker_dnet_find(nd_manager *m, const char *dnet);
/* The network of @p: the one it was taken from, or the Docker network
 * made on its subnet; or NULL. */
nd_network *nd_docker_pool_net(nd_manager *m, const nd_docker_pool *p);
nd_docker_pool *nd_docker_pool_of_net(nd_manager *m, const nd_network *n);
/* Another pool overlapping @p that @spec may not take (prefix registry). */
const char *nd_docker_pools_clash(void *userdata, const nd_network_spec *spec, const nd_prefix *p,
                                  nd_prefix *ret_with);

/* Records.  nd_docker_dump() takes @j and returns its compact text. */
json_t *nd_docker_pool_to_json(const nd_docker_pool *p);
json_t *nd_docker_ep_record(const nd_docker_ep *e);
char *nd_docker_dump(json_t *j);

void nd_docker_ep_free(nd_docker_ep *e);
void nd_docker_ep_what(const nd_docker_ep *e, char *buf, size_t size);
/* The endpoint to the cluster (overlay peers) and to netd's DNS. */
/* The pipeline's view of @e (endpoint.h): a Docker endpoint keeps its own
 * record shape, so each stage runs on an nd_endpoint built from it.  Its
 * DNS key is "docker:ID"; its cluster owner an id derived from that. */
typedef struct nd_docker_spec {
        nd_ep_spec sp;
        nd_endpoint ep;
        char key[DOCKER_ID_MAX + 16], owner_id[ND_ID_LEN + 1];
        const char *names[1];
} nd_docker_spec;
void nd_docker_ep_spec(const nd_docker_ep *e, nd_network *n, nd_docker_spec *b);
void nd_docker_ep_publish(nd_manager *m, const nd_docker_ep *e, bool on);
void nd_docker_ep_names(nd_manager *m, const nd_docker_ep *e, bool on);
/* The endpoint as a task of the service its container's label names
 * (@on, and joined with a label), or not (docs/docker.md).  A label
 * naming an unknown service, or one not on the endpoint's network, is
 * logged and the endpoint is no task. */
void nd_docker_ep_task(nd_manager *m, const nd_docker_ep *e, bool on);
/* The port takes only the endpoint's MAC and addresses (firewall.h). */
int nd_docker_ep_guard(nd_manager *m, const nd_docker_ep *e);

/* Calls: new (NULL: out of memory); submit takes @c and its transaction
 * @t and reports through @c (at once on failure, @t's latched error
 * too); stored is the store's callback (also called
 * directly, to fail a call before submitting it). */
struct nd_docker_call *nd_docker_call_new(nd_manager *m, nd_docker_done_fn done, void *userdata);
void nd_docker_call_free(struct nd_docker_call *c);
void nd_docker_call_stored(void *userdata, int r, int64_t rev);
void nd_docker_call_submit(struct nd_docker_call *c, nd_store_txn_builder *t);
/* Write the call's endpoint's record and report. */
void nd_docker_ep_store(struct nd_docker_call *c);

/* docker-names.c: learn the container's name from dockerd after Join
 * (--docker-host); stop asking. */
void nd_docker_lookup_start(nd_manager *m, nd_docker_ep *e);
void nd_docker_lookup_stop(nd_docker_ep *e);
