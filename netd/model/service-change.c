/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Changes to a service's tasks as pure functions of its record
 * (service.h): scale, update (saving the previous spec for a rollback),
 * rollback, and moving the task part from one record to another.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "json-util.h"
#include "service.h"
#include "service-internal.h"

/* ---- changes to a service's tasks --------------------------------------------------- */

/* A copy of a complete record, through its JSON: what the store would
 * give back. */
static int service_dup(const nd_service *s, nd_service **ret, nd_diag *d) {
        _cleanup_json_ json_t *j = nd_service_to_json(s);
        if (!j)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        return nd_service_from_json(j, ret, d);
}

static int has_tasks(const nd_service *s, nd_diag *d) {
        if (!s->task)
                return nd_diag_set(d, -EINVAL, "service '%s' runs no tasks of its own (it was created without a "
                                   "command): its tasks are the containers that name it", s->name);
        return 0;
}

int nd_service_scale(const nd_service *s, const json_t *req, nd_service **ret, nd_diag *d) {
        static const char *const keys[] = { "Replicas", NULL };
        _cleanup_(nd_service_freep) nd_service *n = NULL;
        long long replicas = 0;
        int r;

        if ((r = has_tasks(s, d)) < 0)
                return r;
        if (s->sched == ND_SVC_GLOBAL)
                return nd_diag_set(d, -EINVAL, "service '%s' is global: it runs one task per host and cannot be "
                                   "scaled", s->name);
        if (!json_is_object(req))
                return nd_diag_set(d, -EINVAL, "scale: not an object");
        if ((r = nd_json_only_keys(req, keys, "scale", d)) < 0)
                return r;
        /* a null is no count (nd_svc_int_parse reads it as absent) */
        const json_t *v = json_object_get(req, "Replicas");
        if (!v || json_is_null(v))
                return nd_diag_set(d, -EINVAL, "scale: 'Replicas' is required");
        if ((r = nd_svc_int_parse(req, "Replicas", "scale", 1, ND_SVC_MAX_REPLICAS, &replicas, d)) < 0 ||
            (r = service_dup(s, &n, d)) < 0)
                return r;
        n->replicas = (unsigned) replicas;
        *ret = TAKE_PTR(n);
        return 0;
}

/* The key of "KEY=VALUE" or "KEY" is @e's first @len bytes. */
static size_t env_key_len(const char *e) {
        const char *eq = strchr(e, '=');
        return eq ? (size_t) (eq - e) : strlen(e);
}

static void env_remove(json_t *env, const char *key, size_t len) {
        for (size_t i = 0; i < json_array_size(env);) {
                const char *e = json_string_value(json_array_get(env, i));
                if (e && env_key_len(e) == len && strncmp(e, key, len) == 0)
                        json_array_remove(env, i);
                else
                        i++;
        }
}

/* "KEY=VALUE" @v in place of KEY's entry (so that setting a value a task
 * has changes nothing), else at the end. */
static int env_set(json_t *env, const json_t *v) {
        const char *e = json_string_value(v);
        size_t len = env_key_len(e);
        for (size_t i = 0; i < json_array_size(env); i++) {
                const char *o = json_string_value(json_array_get(env, i));
                if (o && env_key_len(o) == len && strncmp(o, e, len) == 0)
                        return json_array_set(env, i, (json_t *) v);
        }
        return json_array_append(env, (json_t *) v);
}

/* EnvRm (keys) then EnvAdd (KEY=VALUE, replacing the key's entry), as
 * Docker applies --env-rm and --env-add. */
static int env_edit(const json_t *req, json_t *env, nd_diag *d) {
        const json_t *rm = json_object_get(req, "EnvRm"), *add = json_object_get(req, "EnvAdd"), *v;
        size_t i;
        int r;

        if (rm && !json_is_null(rm)) {
                if (!json_is_array(rm) || json_array_size(rm) > ND_SVC_TASK_ENV_MAX)
                        return nd_diag_set(d, -EINVAL, "update: 'EnvRm' must be an array of at most %d keys",
                                           ND_SVC_TASK_ENV_MAX);
                json_array_foreach(rm, i, v) {
                        const char *k = nd_svc_plain_string(v);
                        if (!k || !*k || strchr(k, '='))
                                return nd_diag_set(d, -EINVAL, "update: EnvRm entry '%.64s' is not a KEY",
                                                   k ? k : "?");
                        env_remove(env, k, strlen(k));
                }
        }
        if (add && !json_is_null(add)) {
                if (!json_is_array(add) || json_array_size(add) > ND_SVC_TASK_ENV_MAX)
                        return nd_diag_set(d, -EINVAL, "update: 'EnvAdd' must be an array of at most %d strings "
                                           "KEY=VALUE", ND_SVC_TASK_ENV_MAX);
                json_array_foreach(add, i, v) {
                        if ((r = nd_svc_env_entry_check(v, "update", "EnvAdd", d)) < 0)
                                return r;
                        if (env_set(env, v) < 0)
                                return nd_diag_set(d, -ENOMEM, "out of memory");
                }
        }
        return 0;
}

/* The template @s would have after @req: its JSON edited, then parsed as
 * a request's (every check, and messages naming the field). */
static int task_updated(const nd_service *s, const json_t *req, nd_svc_tpl **ret, nd_diag *d) {
        static const char *const copied[] = { "Args", "Rootfs", "Memory", "PidsLimit", "StopGracePeriod", NULL };
        _cleanup_json_ json_t *t = nd_svc_task_to_json(s->task);
        int r;

        /* the copy's Env is @s's own array until replaced by a copy */
        if (!t || json_object_set_new(t, "Env", json_deep_copy(s->task->env)) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        for (size_t i = 0; copied[i]; i++) {
                json_t *v = json_object_get(req, copied[i]);
                if (v && json_object_set(t, copied[i], v) < 0)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        if ((r = env_edit(req, json_object_get(t, "Env"), d)) < 0)
                return r;
        return nd_svc_task_parse(t, "update", false, ret, d);
}

static bool task_equal(const nd_svc_tpl *a, const nd_svc_tpl *b) {
        _cleanup_json_ json_t *x = nd_svc_task_to_json(a), *y = nd_svc_task_to_json(b);
        return x && y && json_equal(x, y);
}

int nd_service_update(const nd_service *s, const json_t *req, nd_service **ret, nd_diag *d) {
        static const char *const keys[] = { "Replicas", "Args", "EnvAdd", "EnvRm", "Rootfs", "Memory", "PidsLimit",
                                            "StopGracePeriod", "RestartCondition", "Update", NULL };
        _cleanup_(nd_svc_tpl_freep) nd_svc_tpl *t = NULL;
        _cleanup_(nd_service_freep) nd_service *n = NULL;
        nd_service policy = {0};
        unsigned replicas;
        bool tpl, rep;
        int r;

        if ((r = has_tasks(s, d)) < 0)
                return r;
        if (!json_is_object(req))
                return nd_diag_set(d, -EINVAL, "update: not an object");
        if ((r = nd_json_only_keys(req, keys, "update", d)) < 0 || (r = task_updated(s, req, &t, d)) < 0)
                return r;
        /* absent or null: unchanged (nd_svc_replicas_parse would read a null
         * as the default of a new service, one) */
        replicas = s->replicas;
        const json_t *rv = json_object_get(req, "Replicas");
        if (rv && !json_is_null(rv) && (r = nd_svc_replicas_parse(req, "update", s->sched, &replicas, d)) < 0)
                return r;
        policy.restart = s->restart;
        policy.update_parallelism = s->update_parallelism;
        policy.update_delay = s->update_delay;
        if (json_object_get(req, "RestartCondition") && (r = nd_svc_restart_parse(req, "update", &policy.restart, d)) < 0)
                return r;
        if (json_object_get(req, "Update") && (r = nd_svc_update_policy_parse(req, "update", false, &policy, d)) < 0)
                return r;
        tpl = !task_equal(s->task, t);
        rep = replicas != s->replicas;
        if (!tpl && !rep && policy.restart == s->restart && policy.update_parallelism == s->update_parallelism &&
            policy.update_delay == s->update_delay) {
                *ret = NULL;
                return 0;
        }
        if ((r = service_dup(s, &n, d)) < 0)
                return r;
        /* what a rollback returns to: the current template (the copy's)
         * and count, for any update, as Docker's rollback returns to the
         * previous spec (a policy-only update then rolls back to the same
         * tasks, not to the template before the last change) */
        nd_svc_tpl_free(n->prev_task);
        n->prev_task = TAKE_PTR(n->task);
        n->prev_replicas = s->replicas;
        n->prev_version = s->version;
        n->task = TAKE_PTR(t);
        if (tpl)
                n->version = (s->version > s->prev_version ? s->version : s->prev_version) + 1;
        n->replicas = replicas;
        n->restart = policy.restart;
        n->update_parallelism = policy.update_parallelism;
        n->update_delay = policy.update_delay;
        *ret = TAKE_PTR(n);
        return 1;
}

int nd_service_rollback(const nd_service *s, nd_service **ret, nd_diag *d) {
        _cleanup_(nd_service_freep) nd_service *n = NULL;
        nd_svc_tpl *t;
        unsigned replicas;
        uint64_t version;
        int r;

        if ((r = has_tasks(s, d)) < 0)
                return r;
        if (!s->prev_task)
                return nd_diag_set(d, -EINVAL, "service '%s' has no previous version to roll back to (it was not "
                                   "updated)", s->name);
        if ((r = service_dup(s, &n, d)) < 0)
                return r;
        t = n->task;
        n->task = n->prev_task;
        n->prev_task = t;
        replicas = n->replicas;
        n->replicas = n->prev_replicas;
        n->prev_replicas = replicas;
        version = n->version;
        n->version = n->prev_version;
        n->prev_version = version;
        *ret = TAKE_PTR(n);
        return 0;
}

void nd_service_take_tasks(nd_service *to, nd_service *from) {
        nd_svc_tpl *t = to->task, *p = to->prev_task;

        to->task = from->task;
        to->prev_task = from->prev_task;
        from->task = t;
        from->prev_task = p;
        to->sched = from->sched;
        to->replicas = from->replicas;
        to->restart = from->restart;
        to->update_parallelism = from->update_parallelism;
        to->update_delay = from->update_delay;
        to->version = from->version;
        to->prev_replicas = from->prev_replicas;
        to->prev_version = from->prev_version;
}
