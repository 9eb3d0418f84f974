/* SPDX-License-Identifier: Apache-2.0 */
/* Services: POST /v1/services bodies, stored records (from etcd too) and
 * port strings.  Invariants: no crash, no leak, a refusal always says why;
 * an accepted request holds what service.h promises, and made into a
 * record as the core does (ids, VIPs) it survives to_json -> from_json;
 * an accepted record survives to_json -> from_json -> to_json unchanged;
 * a port's normal form parses back to the same port; a scale, update or
 * rollback of an accepted service (the input as their body) gives a
 * valid record or a message, and rolling an update back returns to the
 * generation and count it started from. */
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "json-util.h"
#include "service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tpl(const nd_svc_tpl *t) {
        assert(json_is_array(t->args) && json_array_size(t->args) >= 1 &&
               json_array_size(t->args) <= ND_SVC_TASK_ARGS_MAX);
        assert(json_is_array(t->env) && json_array_size(t->env) <= ND_SVC_TASK_ENV_MAX);
        assert(!t->rootfs || t->rootfs[0] == '/');
        assert(t->memory == 0 || t->memory >= ND_SVC_TASK_MEMORY_MIN);
        assert(t->pids_limit >= 0);
        assert(t->stop_grace >= 0 && t->stop_grace <= ND_SVC_SECONDS_MAX);
}

static void check_tasks(const nd_service *s) {
        if (!s->task) {
                assert(s->replicas == 0 && s->version == 0 && !s->prev_task);
                return;
        }
        check_tpl(s->task);
        assert(s->sched == ND_SVC_REPLICATED || s->sched == ND_SVC_GLOBAL);
        assert(s->sched == ND_SVC_GLOBAL ? s->replicas == 0 : s->replicas >= 1 && s->replicas <= ND_SVC_MAX_REPLICAS);
        assert(s->restart >= 0 && s->restart < _ND_SVC_RESTART_MAX);
        assert(s->update_parallelism >= 1 && s->update_parallelism <= ND_SVC_MAX_REPLICAS);
        assert(s->update_delay >= 0 && s->update_delay <= ND_SVC_SECONDS_MAX);
        assert(s->version >= 1);
        if (s->prev_task) {
                check_tpl(s->prev_task);
                assert(s->prev_version >= 1);
        }
}

static void check_service(const nd_service *s);
static void round_trip(const nd_service *s);

/* The changes of a record's tasks, with @j as their body: what they
 * accept is a valid record again; a rollback of an update's result
 * returns to the template it started from. */
static void changes(const nd_service *s, const json_t *j) {
        nd_service *n = NULL, *b = NULL;
        nd_diag d = {0};
        int r;

        if (nd_service_scale(s, j, &n, &d) == 0) {
                check_service(n);
                round_trip(n);
                n = nd_service_free(n);
        } else
                assert(d.msg[0] && !n);
        d.msg[0] = 0;
        r = nd_service_update(s, j, &n, &d);
        if (r == 1) {
                check_service(n);
                round_trip(n);
                assert(nd_service_rollback(n, &b, &d) == 0);
                check_service(b);
                assert(b->version == s->version && b->replicas == s->replicas);
                b = nd_service_free(b);
                n = nd_service_free(n);
        } else
                assert(r == 0 ? !n : d.msg[0] && !n);
        d.msg[0] = 0;
        if (nd_service_rollback(s, &n, &d) == 0) {
                check_service(n);
                round_trip(n);
                nd_service_free(n);
        } else
                assert(d.msg[0]);
}

static void check_service(const nd_service *s) {
        assert(nd_service_name_valid(s->name));
        assert(s->mode == ND_SVC_VIP || s->mode == ND_SVC_DNSRR);
        assert(s->n_nets >= 1 && s->n_nets <= ND_SVC_MAX_NETS);
        assert(s->n_ports <= ND_SVC_MAX_PORTS);
        for (size_t i = 0; i < s->n_nets; i++) {
                assert(s->nets[i].net && *s->nets[i].net);
                assert(s->nets[i].vip4.family == 0 || (s->nets[i].vip4.family == AF_INET && s->mode == ND_SVC_VIP));
                for (size_t k = 0; k < i; k++)
                        assert(strcmp(s->nets[i].net, s->nets[k].net) != 0);
        }
        for (size_t i = 0; i < s->n_ports; i++) {
                const nd_svc_port *p = &s->ports[i];
                assert(p->published && p->target);
                assert(p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
                assert(p->mode == ND_SVC_PUB_HOST || s->mode == ND_SVC_VIP);
                for (size_t k = 0; k < i; k++)
                        assert(p->published != s->ports[k].published || p->proto != s->ports[k].proto);
        }
        if (s->health.cmd) {
                assert(*s->health.cmd && strlen(s->health.cmd) <= ND_SVC_HEALTH_CMD_MAX);
                assert(s->health.interval > 0 && s->health.interval <= ND_SVC_HEALTH_SECONDS_MAX);
                assert(s->health.timeout > 0 && s->health.timeout <= ND_SVC_HEALTH_SECONDS_MAX);
                assert(s->health.retries >= 1 && s->health.retries <= ND_SVC_HEALTH_RETRIES_MAX);
        }
        assert(json_is_object(s->labels) && json_object_size(s->labels) <= ND_SVC_MAX_LABELS);
        assert(s->node);
        check_tasks(s);
}

/* to_json -> from_json -> to_json: both readable, the second the same. */
static void round_trip(const nd_service *s) {
        nd_service *t = NULL;
        nd_diag d = {0};
        json_t *a = nd_service_to_json(s), *b;

        assert(a);
        assert(nd_service_from_json(a, &t, &d) == 0);
        check_service(t);
        b = nd_service_to_json(t);
        assert(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        nd_service_free(t);
}

static void ports(const uint8_t *data, size_t size) {
        char s[80], buf[ND_SVC_PORT_STRLEN];
        nd_svc_port p, q;
        nd_diag d = {0};

        if (size >= sizeof(s))
                return;
        memcpy(s, data, size);
        s[size] = 0;
        if (nd_svc_port_parse(s, &p, &d) < 0) {
                assert(d.msg[0]);
                return;
        }
        assert(nd_svc_port_parse(nd_svc_port_fmt(&p, buf), &q, &d) == 0);
        assert(memcmp(&p, &q, sizeof(p)) == 0);
}

/* A record with tasks and a previous template, for the input as the body
 * of its changes (an input is rarely both a service and a change). */
static const char base_record[] =
        "{\"Id\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", \"Name\": \"web\","
        " \"Networks\": [{\"Network\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}],"
        " \"Created\": 1, \"Node\": \"\", \"Task\": {\"Args\": [\"httpd\"], \"Env\": [\"A=2\", \"B=1\"]},"
        " \"Replicas\": 3, \"Version\": 2, \"Previous\": {\"Task\": {\"Args\": [\"httpd\"]}, \"Replicas\": 2,"
        " \"Version\": 1}}";

static void changes_of_base(const json_t *j) {
        json_t *b = json_loads(base_record, 0, NULL);
        nd_service *s = NULL;
        nd_diag d = {0};

        assert(b && nd_service_from_json(b, &s, &d) == 0);
        changes(s, j);
        nd_service_free(s);
        json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = NULL;
        nd_service *s = NULL;
        nd_diag d = {0};

        ports(data, size);
        if (size > 65536 || nd_json_parse_object((const char *) data, size, &j, &d) < 0)
                return 0;
        d.msg[0] = 0;
        changes_of_base(j);
        if (nd_service_spec_parse(j, &s, &d) == 0) {
                check_service(s);
                /* what the core does before it stores one */
                nd_id_derive(s->name, s->id);
                for (size_t i = 0; i < s->n_nets; i++) {
                        char id[ND_ID_LEN + 1];
                        snprintf(id, sizeof(id), "%064zx", i);
                        free(s->nets[i].net);
                        s->nets[i].net = strdup(id);
                        assert(s->nets[i].net);
                        if (s->mode == ND_SVC_VIP)
                                nd_addr_parse("10.0.0.2", &s->nets[i].vip4);
                }
                round_trip(s);
                changes(s, j);
                s = nd_service_free(s);
        } else
                assert(d.msg[0] && !s);
        d.msg[0] = 0;
        if (nd_service_from_json(j, &s, &d) == 0) {
                check_service(s);
                round_trip(s);
                changes(s, j);
                nd_service_free(s);
        } else
                assert(d.msg[0]);
        json_decref(j);
        return 0;
}
