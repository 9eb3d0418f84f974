/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "diag.h"
#include "json-util.h"

int nd_json_only_keys(const json_t *obj, const char *const *allowed, const char *ctx, nd_diag *d) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *) obj, key, v) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(*a, key) == 0) {
                                ok = true;
                                break;
                        }
                if (!ok)
                        return nd_diag_set(d, -EINVAL, "%s: unknown field '%.64s'", ctx, key);
        }
        return 0;
}

int nd_json_string(const json_t *obj, const char *key, const char *ctx, const char **ret, nd_diag *d) {
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return nd_diag_set(d, -EINVAL, "%s: field '%s' must be a string", ctx, key);
        if (strlen(json_string_value(v)) != json_string_length(v))
                return nd_diag_set(d, -EINVAL, "%s: field '%s' contains a NUL byte", ctx, key);
        *ret = json_string_value(v);
        return 0;
}

int nd_json_bool(const json_t *obj, const char *key, const char *ctx, bool *ret, nd_diag *d) {
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_boolean(v))
                return nd_diag_set(d, -EINVAL, "%s: field '%s' must be true or false", ctx, key);
        *ret = json_is_true(v);
        return 0;
}

int nd_json_string_map(const json_t *obj, const char *key, const char *ctx, json_t **ret, nd_diag *d) {
        json_t *v = json_object_get(obj, key), *e;
        const char *k;
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return nd_diag_set(d, -EINVAL, "%s: field '%s' must be an object of strings", ctx, key);
        json_object_foreach(v, k, e)
                if (!json_is_string(e))
                        return nd_diag_set(d, -EINVAL, "%s: %s['%.64s'] must be a string", ctx, key, k);
        *ret = v;
        return 0;
}

int nd_json_parse_object(const char *text, size_t len, json_t **ret, nd_diag *d) {
        json_error_t err;
        json_t *j;

        if (len == 0)
                return nd_diag_set(d, -EINVAL, "request body is empty, expected a JSON object");
        j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return nd_diag_set(d, -EINVAL, "malformed JSON at line %d column %d: %s", err.line,
                                   err.column, err.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return nd_diag_set(d, -EINVAL, "expected a JSON object");
        }
        *ret = j;
        return 0;
}
