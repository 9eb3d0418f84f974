/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "rt-config.h"

static int copy(char *dst, size_t size, json_t *j, const char *key, bool required, char *err, size_t errsz) {
        json_t *v = json_object_get(j, key);
        if (!v || json_is_null(v)) {
                if (required)
                        return snprintf(err, errsz, "config: '%s' missing", key), -1;
                dst[0] = 0;
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) >= size)
                return snprintf(err, errsz, "config: '%s' must be a string shorter than %zu", key, size), -1;
        strcpy(dst, json_string_value(v));
        return 0;
}

static int strings(char **dst, size_t max, json_t *j, const char *key, char *err, size_t errsz) {
        json_t *a = json_object_get(j, key), *e;
        size_t i;
        if (!a)
                return dst[0] = NULL, 0;
        if (!json_is_array(a) || json_array_size(a) > max)
                return snprintf(err, errsz, "config: '%s' must be an array of at most %zu strings", key, max), -1;
        json_array_foreach(a, i, e) {
                if (!json_is_string(e))
                        return snprintf(err, errsz, "config: '%s' must hold strings", key), -1;
                dst[i] = (char *) json_string_value(e);
        }
        dst[json_array_size(a)] = NULL;
        return 0;
}

int nd_rt_config_load(const char *bundle, nd_rt_config *c, char *err, size_t errsz) {
        char path[PATH_MAX];
        json_error_t je;
        json_t *j;

        memset(c, 0, sizeof(*c));
        snprintf(path, sizeof(path), "%s/config.json", bundle);
        j = json_load_file(path, 0, &je);
        if (!j)
                return snprintf(err, errsz, "config %s: %s", path, je.text), -1;
        c->json = j;
        if (copy(c->id, sizeof(c->id), j, "Id", true, err, errsz) < 0 ||
            copy(c->rootfs, sizeof(c->rootfs), j, "Rootfs", true, err, errsz) < 0 ||
            copy(c->netns, sizeof(c->netns), j, "NetNS", false, err, errsz) < 0 ||
            copy(c->hostname, sizeof(c->hostname), j, "Hostname", false, err, errsz) < 0 ||
            strings(c->argv, ND_RT_MAX_ARGS, j, "Args", err, errsz) < 0 ||
            strings(c->envp, ND_RT_MAX_ENV, j, "Env", err, errsz) < 0)
                return -1;
        if (!c->argv[0])
                return snprintf(err, errsz, "config: 'Args' is empty"), -1;
        c->memory = json_integer_value(json_object_get(j, "Memory"));
        c->pids_limit = json_integer_value(json_object_get(j, "PidsLimit"));
        return 0;
}
