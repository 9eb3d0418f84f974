/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container behind a Docker endpoint, asked of dockerd's API
 * (--docker-host): the plugin protocol does not carry names, so after
 * Join netd lists the network's containers, finds the one holding the
 * endpoint, reads its aliases and its label netd.service, and puts the
 * names in its DNS and the cluster and the endpoint among its service's
 * tasks.  dockerd fills in the endpoint only after Join returns, so the
 * question is asked again a few times.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker-internal.h"
#include "docker-proto.h"
#include "log.h"
#include "manager-internal.h"
#include "service.h"
#include "unix-get.h"

struct nd_docker_lookup {
        nd_manager *m;
        nd_docker_ep *ep;
        ev_timer wait;
        nd_unix_get *get;
        int tries;
};

static void on_name_stored(void *userdata, int r, int64_t rev) {
        char *id = userdata;
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "recording a Docker container's name failed", "endpoint=%.12s", id);
        free(id);
}

void nd_docker_lookup_stop(nd_docker_ep *e) {
        struct nd_docker_lookup *l = e->lookup;
        if (!l)
                return;
        ev_timer_stop(l->m->loop, &l->wait);
        nd_unix_get_cancel(l->get);
        free(l);
        e->lookup = NULL;
}

static void lookup_again(struct nd_docker_lookup *l) {
        /* dockerd fills in the endpoint after Join returns: 50 ms, then
         * doubling, six tries (about 3 s) */
        if (l->tries >= 6) {
                nd_log(LOG_INFO, "docker plugin: no container name for the endpoint (dockerd did not tell)",
                       "endpoint=%.12s", l->ep->id);
                nd_docker_ep *e = l->ep;
                return nd_docker_lookup_stop(e);
        }
        ev_timer_set(&l->wait, 0.05 * (double) (1 << l->tries), 0);
        ev_timer_start(l->m->loop, &l->wait);
        l->tries++;
}

static void named(struct nd_docker_lookup *l) {
        nd_docker_ep *e = l->ep;
        nd_manager *m = l->m;
        nd_docker_lookup_stop(e);
        nd_docker_ep_names(m, e, true);
        nd_docker_ep_publish(m, e, e->joined);
        nd_docker_ep_task(m, e, true);
        nd_log(LOG_INFO, "docker plugin: container named", "endpoint=%.12s name=%s aliases=%zu service=%s", e->id,
               e->name, e->n_aliases, e->service[0] ? e->service : "-");
        char key[256], *id = strdup(e->id), *v = nd_docker_dump(nd_docker_ep_record(e));
        snprintf(key, sizeof(key), ND_KEY_DOCKER_ENDPOINTS "%s", e->id);
        if (!id || !v || nd_store_put(m->store, key, v, 0, on_name_stored, id) < 0)
                free(id);
        free(v);
}

/* Its label netd.service, from the list or inspect answer (both carry
 * the labels).  One that is not a service name is logged and ignored. */
static void service_learn(nd_docker_ep *e, const char *body, size_t len) {
        char svc[ND_NAME_MAX + 1];
        int r = nd_docker_container_label(body, len, e->id, LABEL_SERVICE, svc, sizeof(svc));
        if (r == -ENOENT) {
                e->service[0] = 0;
                return;
        }
        if (r < 0 || !nd_service_name_valid(svc)) {
                nd_log(LOG_WARNING, "docker plugin: the container's " LABEL_SERVICE " label is not a service name, "
                       "ignoring", "endpoint=%.12s", e->id);
                e->service[0] = 0;
                return;
        }
        snprintf(e->service, sizeof(e->service), "%s", svc);
}

/* The container itself: its aliases on the network (the list has none). */
static void on_container(void *userdata, int status, const char *body, size_t len) {
        struct nd_docker_lookup *l = userdata;
        nd_docker_ep *e = l->ep;
        char name[ND_NAME_MAX + 1];
        l->get = NULL;
        if (status == 200)
                (void) nd_docker_endpoint_name(body, len, e->id, name, sizeof(name), NULL, e->aliases, ND_MAX_ALIASES,
                                               &e->n_aliases);
        size_t k = 0;
        for (size_t i = 0; i < e->n_aliases; i++)
                if (nd_name_valid(e->aliases[i]) == 0 && k++ != i)
                        memcpy(e->aliases[k - 1], e->aliases[i], sizeof(e->aliases[0]));
        e->n_aliases = k;
        named(l);
}

static void on_containers(void *userdata, int status, const char *body, size_t len) {
        struct nd_docker_lookup *l = userdata;
        nd_docker_ep *e = l->ep;
        nd_manager *m = l->m;
        char cid[65], path[128];
        l->get = NULL;
        if (status != 200 || !e->joined ||
            nd_docker_endpoint_name(body, len, e->id, e->name, sizeof(e->name), cid, e->aliases, ND_MAX_ALIASES,
                                    &e->n_aliases) < 0 ||
            nd_name_valid(e->name) < 0) {
                e->name[0] = 0;
                e->n_aliases = 0;
                if (status < 0 && l->tries >= 6)
                        nd_log_errno(LOG_WARNING, status, "cannot ask dockerd for container names",
                                     "docker_host=%s", m->docker_host);
                return lookup_again(l);
        }
        service_learn(e, body, len);
        snprintf(path, sizeof(path), "/containers/%s/json", cid);
        if (nd_unix_get_start(m->loop, m->docker_host, path, 3.0, on_container, l, &l->get) < 0)
                named(l);
}

static void on_lookup_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        struct nd_docker_lookup *l = t->data;
        char path[512];
        /* filters={"network":["<id>"]} */
        snprintf(path, sizeof(path), "/containers/json?filters=%%7B%%22network%%22%%3A%%5B%%22%s%%22%%5D%%7D",
                 l->ep->dnet);
        if (nd_unix_get_start(loop, l->m->docker_host, path, 3.0, on_containers, l, &l->get) < 0)
                lookup_again(l);
}

void nd_docker_lookup_start(nd_manager *m, nd_docker_ep *e) {
        if (!m->docker_host || e->lookup || e->name[0])
                return;
        struct nd_docker_lookup *l = calloc(1, sizeof(*l));
        if (!l)
                return;
        *l = (struct nd_docker_lookup) { .m = m, .ep = e };
        ev_timer_init(&l->wait, on_lookup_timer, 0, 0);
        l->wait.data = l;
        e->lookup = l;
        lookup_again(l);
}

