/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file service.h
 * A service: a name and, per network, a virtual IP in front of the
 * containers that are its tasks (Docker swarm's model).  Its DNS names are
 * NAME (the VIP, or every task with dnsrr) and tasks.NAME (every task);
 * its ports are published on every host (ingress, the routing mesh) or
 * only where a task runs (host).
 *
 * Two ways in, both pure and fuzzed:
 *   - nd_service_spec_parse(): a POST /v1/services body.  nets[].net are
 *     the user's references (names, ids or id prefixes), not resolved; no
 *     id, no VIPs.  The core resolves the references, allocates the VIPs
 *     and fills id, created and node before it stores the record.
 *   - nd_service_from_json(): a stored record (the local store, or etcd
 *     where other hosts wrote it): untrusted, so checked like a request,
 *     and also the id (64 hex), the network ids (64 hex) and the VIPs.
 *
 * A service may carry a task template ("Task"): netd then runs its tasks
 * itself, NAME.SLOT containers made from the template, "Replicas" of them
 * (mode replicated) or one per host (mode global), restarted per
 * "RestartCondition" and replaced "Update.Parallelism" at a time when the
 * template changes (core/replicas.c).  Without one the service is
 * network-only: its tasks are whatever containers name it.  The record
 * also keeps the template's generation ("Version") and, after an update,
 * the one before ("Previous"), which a rollback swaps back in.
 *
 * Invariants of a parsed service: a valid name (nd_service_name_valid),
 * 1..ND_SVC_MAX_NETS networks with no reference twice, at most
 * ND_SVC_MAX_PORTS ports with no (published, proto) pair twice, no
 * ingress port in dnsrr mode, labels an object of at most
 * ND_SVC_MAX_LABELS strings (never NULL), node never NULL; with a health
 * check, a command of 1..ND_SVC_HEALTH_CMD_MAX bytes without control
 * characters other than tab, interval and timeout in (0, 3600] seconds,
 * 1..100 retries.  A record holds VIPs only in vip mode, IPv4 only.
 * With a task template: 1..ND_SVC_TASK_ARGS_MAX arguments, at most
 * ND_SVC_TASK_ENV_MAX "KEY=VALUE" entries (env never NULL), a rootfs that
 * is NULL or an absolute path, memory 0 or at least 4 MiB, pids limit >=
 * 0, stop grace in [0, 3600]; replicas 1..ND_SVC_MAX_REPLICAS in
 * replicated mode and 0 in global mode; parallelism
 * 1..ND_SVC_MAX_REPLICAS; delay in [0, 3600]; version >= 1.  Without one:
 * mode replicated, replicas 0, restart any, parallelism 1, delay 0,
 * version 0, no previous.
 *
 * Every bad input fails with -EINVAL (or -ENOMEM) and a message naming
 * the field in @d.  Everything in an nd_service is owned by it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nd-forward.h"
#include "network.h"
#include "prefix.h"

#define ND_SVC_NAME_MAX 63          /* a DNS label */
#define ND_SVC_MAX_NETS 16
#define ND_SVC_MAX_PORTS 64
#define ND_SVC_MAX_LABELS 64
#define ND_SVC_HEALTH_CMD_MAX 4096  /* bytes */
#define ND_SVC_HEALTH_SECONDS_MAX 3600
#define ND_SVC_HEALTH_RETRIES_MAX 100
#define ND_SVC_MAX_REPLICAS 256
#define ND_SVC_TASK_ARGS_MAX 256    /* as a container's Cmd */
#define ND_SVC_TASK_ENV_MAX 256
#define ND_SVC_TASK_MEMORY_MIN (4LL * 1024 * 1024)
#define ND_SVC_SECONDS_MAX 3600     /* update delay, stop grace period */
#define ND_SVC_STOP_GRACE_DEFAULT 10

typedef enum nd_svc_mode {
        ND_SVC_VIP,            /* NAME -> one virtual IP per network, balanced over the tasks */
        ND_SVC_DNSRR,          /* NAME -> the tasks' addresses, no VIP */
        _ND_SVC_MODE_MAX,
        _ND_SVC_MODE_INVALID = -22,
} nd_svc_mode;

typedef enum nd_svc_pub_mode {
        ND_SVC_PUB_INGRESS,    /* on every host, to any task (the routing mesh) */
        ND_SVC_PUB_HOST,       /* on the hosts running a task, to that task */
        _ND_SVC_PUB_MAX,
        _ND_SVC_PUB_INVALID = -22,
} nd_svc_pub_mode;

typedef enum nd_svc_sched {
        ND_SVC_REPLICATED,     /* Replicas tasks, NAME.1 .. NAME.N */
        ND_SVC_GLOBAL,         /* one task per host, NAME.HOST */
        _ND_SVC_SCHED_MAX,
        _ND_SVC_SCHED_INVALID = -22,
} nd_svc_sched;

typedef enum nd_svc_restart {
        ND_SVC_RESTART_ANY,        /* a task that exits is restarted */
        ND_SVC_RESTART_ON_FAILURE, /* ... when its exit code is not 0 */
        ND_SVC_RESTART_NONE,
        _ND_SVC_RESTART_MAX,
        _ND_SVC_RESTART_INVALID = -22,
} nd_svc_restart;

/* What a task runs: the fields of a container request it becomes. */
typedef struct nd_svc_tpl {
        json_t *args;          /* array of 1..ND_SVC_TASK_ARGS_MAX strings */
        json_t *env;           /* array of "KEY=VALUE", never NULL */
        char *rootfs;          /* absolute path, NULL: the host's default */
        long long memory;      /* bytes, 0: no limit */
        long long pids_limit;  /* 0: no limit */
        double stop_grace;     /* seconds from SIGTERM to SIGKILL */
} nd_svc_tpl;

typedef struct nd_svc_port {
        uint8_t mode;          /* nd_svc_pub_mode */
        uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t published, target; /* both 1..65535 */
} nd_svc_port;

typedef struct nd_svc_health {
        char *cmd;             /* run with sh -c in the task; NULL: no check */
        double interval, timeout; /* seconds */
        unsigned retries;      /* consecutive failures before unhealthy */
} nd_svc_health;

typedef struct nd_svc_net {
        char *net;             /* network id (records) or the user's reference (a parsed request) */
        nd_addr vip4;          /* family 0: none (dnsrr, or not yet allocated) */
} nd_svc_net;

typedef struct nd_service {
        char id[ND_ID_LEN + 1]; /* 64 hex; "" in a parsed request */
        char *name;
        nd_svc_mode mode;
        nd_svc_net *nets;
        size_t n_nets;
        nd_svc_port *ports;
        size_t n_ports;
        nd_svc_health health;
        json_t *labels;        /* object of strings, never NULL after parse */
        int64_t created;       /* unix seconds */
        char *node;            /* node id of the creating host ("" single host) */
        /* tasks netd runs (NULL task: none, the rest at their defaults) */
        nd_svc_tpl *task;
        nd_svc_sched sched;
        unsigned replicas;     /* replicated mode; 0 in global mode */
        nd_svc_restart restart;
        unsigned update_parallelism; /* tasks replaced at a time */
        double update_delay;   /* seconds between batches */
        uint64_t version;      /* the template's generation, 1 at create */
        nd_svc_tpl *prev_task; /* before the last update, NULL: none */
        unsigned prev_replicas;
        uint64_t prev_version;
} nd_service;

/* Accepts NULL and returns NULL. */
nd_service *nd_service_free(nd_service *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(nd_service *, nd_service_free);

const char *nd_svc_mode_to_string(nd_svc_mode m);     /* "vip", "dnsrr" */
const char *nd_svc_sched_to_string(nd_svc_sched m);   /* "replicated", "global" */
const char *nd_svc_restart_to_string(nd_svc_restart r); /* "any", "on-failure", "none" */
nd_svc_tpl *nd_svc_tpl_free(nd_svc_tpl *t);
nd_svc_mode nd_svc_mode_from_string(const char *s);   /* _ND_SVC_MODE_INVALID when unknown */

/* A DNS label, [A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?, and not
 * "tasks" in any case (tasks.NAME is the name of a service's tasks). */
bool nd_service_name_valid(const char *name);

/* An API request body (docs/api.md, "Services") into a new service (owned
 * by the caller) with nets[].net = the user's references, no VIPs, no id,
 * created 0, node "".  0, or -EINVAL/-ENOMEM with @d's message naming the
 * field; *@ret is untouched on failure. */
int nd_service_spec_parse(const json_t *req, nd_service **ret, nd_diag *d);

/* "[mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]", tcp when no protocol.
 * 0 or -EINVAL with @d filled. */
int nd_svc_port_parse(const char *s, nd_svc_port *ret, nd_diag *d);
/* The normalised text, "mode=ingress,8080:80/tcp"; parses back to @p. */
#define ND_SVC_PORT_STRLEN 40
const char *nd_svc_port_fmt(const nd_svc_port *p, char buf[static ND_SVC_PORT_STRLEN]);

/* The stored record, also the base of the API's inspect body: Id, Name,
 * EndpointMode, Networks [{"Network": id, "VIP": "a.b.c.d" (absent:
 * none)}], Ports (normalised strings), HealthCheck (absent: none),
 * Labels, Created, Node; with a task template also Task {Args, Env,
 * Rootfs (absent: default), Memory, PidsLimit, StopGracePeriod}, Mode,
 * Replicas (absent in global mode), RestartCondition, Update
 * {Parallelism, Delay}, Version and Previous {Task, Replicas, Version}
 * (absent: none).  A new reference, NULL when out of memory. */
json_t *nd_service_to_json(const nd_service *s);
/* A stored record back into a new service (owned by the caller).  Fields
 * it does not know are ignored: a newer netd on another host of the
 * cluster may have written it.  0, or -EINVAL/-ENOMEM with @d filled. */
int nd_service_from_json(const json_t *j, nd_service **ret, nd_diag *d);

/* ---- changes to a service's tasks (each a new service, owned by the
 * caller, made from the complete record @s; @s is untouched) ---- */

/* POST /v1/services/REF/scale {"Replicas": N}: -EINVAL for a service
 * without tasks or in global mode, or a count out of range. */
int nd_service_scale(const nd_service *s, const json_t *req, nd_service **ret, nd_diag *d);
/* POST /v1/services/REF/update {"Replicas", "Args", "EnvAdd", "EnvRm",
 * "Rootfs", "Memory", "PidsLimit", "StopGracePeriod", "RestartCondition",
 * "Update"}, every field optional.  A change of the template or of
 * Replicas keeps the current ones as Previous; a new template gets the
 * next generation.  Returns 1 when something changed, 0 when the request
 * changes nothing (*@ret NULL), -EINVAL with @d's message. */
int nd_service_update(const nd_service *s, const json_t *req, nd_service **ret, nd_diag *d);
/* POST /v1/services/REF/rollback: Previous and the current template and
 * Replicas swap places (a second rollback undoes the first).  -EINVAL
 * when there is nothing to roll back to. */
int nd_service_rollback(const nd_service *s, nd_service **ret, nd_diag *d);
/* The task fields of @from (template, mode, replicas, restart, update
 * policy, version, previous) move into @to; @from keeps the rest. */
void nd_service_take_tasks(nd_service *to, nd_service *from);
