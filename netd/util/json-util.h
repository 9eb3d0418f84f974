/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file json-util.h
 * Strict readers for client-supplied JSON: each names the offending field
 * in an nd_diag.  Getters return borrowed pointers (jansson's rule).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "macro.h"

struct nd_diag;

/* jansson >= 2.11 provides json_decrefp() for the cleanup attribute. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* -EINVAL unless every key of @obj is in the NULL-terminated @allowed. */
int nd_json_only_keys(const json_t *obj, const char *const *allowed, const char *ctx,
                      struct nd_diag *d);
/* Optional string: absent/null leaves *ret unchanged. */
int nd_json_string(const json_t *obj, const char *key, const char *ctx, const char **ret,
                   struct nd_diag *d);
int nd_json_bool(const json_t *obj, const char *key, const char *ctx, bool *ret, struct nd_diag *d);
/* Optional object whose values are all strings; *ret borrowed or NULL. */
int nd_json_string_map(const json_t *obj, const char *key, const char *ctx, json_t **ret,
                       struct nd_diag *d);
/* Parse @text of @len bytes into an object; message names line/column. */
int nd_json_parse_object(const char *text, size_t len, json_t **ret, struct nd_diag *d);
