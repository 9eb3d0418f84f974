/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file service-internal.h
 * What service.c (requests and records) shares with service-change.c
 * (scale, update, rollback): the parsers of a record's task part and the
 * template's JSON.  Private to model/.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "diag.h"
#include "macro.h"
#include "service.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(nd_svc_tpl *, nd_svc_tpl_free);

const char *nd_svc_plain_string(const json_t *v);
int nd_svc_env_entry_check(const json_t *v, const char *ctx, const char *field, nd_diag *d);
int nd_svc_int_parse(const json_t *obj, const char *key, const char *ctx, long long lo, long long hi, long long *ret, nd_diag *d);
int nd_svc_task_parse(const json_t *t, const char *ctx, bool record, nd_svc_tpl **ret, nd_diag *d);
int nd_svc_update_policy_parse(const json_t *j, const char *ctx, bool record, nd_service *s, nd_diag *d);
int nd_svc_restart_parse(const json_t *j, const char *ctx, nd_svc_restart *ret, nd_diag *d);
int nd_svc_replicas_parse(const json_t *j, const char *ctx, nd_svc_sched sched, unsigned *ret, nd_diag *d);
json_t *nd_svc_task_to_json(const nd_svc_tpl *t);
