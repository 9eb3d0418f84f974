/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "diag.h"
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

static int security(nd_rt_config *c, json_t *j, char *err, size_t errsz) {
        json_t *caps = json_object_get(j, "Capabilities"), *sc = json_object_get(j, "Seccomp"), *v;
        nd_diag d = {};
        size_t i;
        int r;

        c->caps = nd_caps_default();
        if (caps && !json_is_null(caps)) {
                if (!json_is_array(caps))
                        return snprintf(err, errsz, "config: 'Capabilities' must be an array of names"), -1;
                c->caps = 0;
                json_array_foreach(caps, i, v) {
                        char name[ND_CAP_NAME_MAX];
                        r = nd_cap_normalize(json_string_value(v), name, &d);
                        if (r < 0 || r == ND_CAP_ALL)
                                return snprintf(err, errsz, "config: 'Capabilities': %s", r < 0 ? d.msg : "ALL"), -1;
                        c->caps |= UINT64_C(1) << r;
                }
        }
        static const char *const flags[] = { "Privileged", "NoNewPrivileges", "ReadonlyRootfs" };
        bool *dst[] = { &c->privileged, &c->no_new_privs, &c->readonly_rootfs };
        for (i = 0; i < 3; i++) {
                v = json_object_get(j, flags[i]);
                *dst[i] = i == 1; /* absent: no_new_privs on, the others off */
                if (v && !json_is_null(v)) {
                        if (!json_is_boolean(v))
                                return snprintf(err, errsz, "config: '%s' must be a boolean", flags[i]), -1;
                        *dst[i] = json_is_true(v);
                }
        }
        if (c->privileged)
                c->caps = nd_caps_all();
        if (json_is_string(sc) && strcmp(json_string_value(sc), "unconfined") == 0)
                return 0;
        if (!sc || json_is_null(sc) || (json_is_string(sc) && strcmp(json_string_value(sc), "default") == 0))
                r = nd_sc_profile_default(&c->seccomp);
        else if (json_is_object(sc))
                r = nd_sc_profile_from_json(sc, &c->seccomp, &d);
        else
                r = nd_diag_set(&d, -EINVAL, "'Seccomp' must be \"default\", \"unconfined\" or a profile");
        if (r < 0)
                return snprintf(err, errsz, "config: %s", d.msg[0] ? d.msg : strerror(-r)), -1;
        return 0;
}

int nd_rt_config_from_json(void *json, nd_rt_config *c, char *err, size_t errsz) {
        json_t *j = json;

        memset(c, 0, sizeof(*c));
        if (!json_is_object(j))
                return snprintf(err, errsz, "config: not an object"), -1;
        c->json = json_incref(j);
        if (copy(c->id, sizeof(c->id), j, "Id", true, err, errsz) < 0 ||
            copy(c->rootfs, sizeof(c->rootfs), j, "Rootfs", true, err, errsz) < 0 ||
            copy(c->netns, sizeof(c->netns), j, "NetNS", false, err, errsz) < 0 ||
            copy(c->hostname, sizeof(c->hostname), j, "Hostname", false, err, errsz) < 0 ||
            strings(c->argv, ND_RT_MAX_ARGS, j, "Args", err, errsz) < 0 ||
            strings(c->envp, ND_RT_MAX_ENV, j, "Env", err, errsz) < 0 ||
            copy(c->deadline, sizeof(c->deadline), j, "Deadline", false, err, errsz) < 0)
                return -1;
        if (!c->argv[0])
                return snprintf(err, errsz, "config: 'Args' is empty"), -1;
        c->memory = json_integer_value(json_object_get(j, "Memory"));
        c->pids_limit = json_integer_value(json_object_get(j, "PidsLimit"));
        return security(c, j, err, errsz);
}

int nd_rt_config_load(const char *bundle, nd_rt_config *c, char *err, size_t errsz) {
        char path[PATH_MAX];
        json_error_t je;

        memset(c, 0, sizeof(*c));
        snprintf(path, sizeof(path), "%s/config.json", bundle);
        json_t *j = json_load_file(path, 0, &je);
        if (!j)
                return snprintf(err, errsz, "config %s: %s", path, je.text), -1;
        int r = nd_rt_config_from_json(j, c, err, errsz);
        json_decref(j);
        return r;
}

void nd_rt_config_done(nd_rt_config *c) {
        c->seccomp = nd_sc_profile_free(c->seccomp);
        json_decref(c->json);
        c->json = NULL;
}

double nd_rt_boottime(void) {
        struct timespec ts;
        if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
                clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int nd_rt_deadline_read(const char *path, double *ret) {
        char buf[64];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -ENOENT;
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 0)
                return -EBADMSG;
        buf[k] = 0;
        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (errno || end == buf || (*end && *end != '\n') || !(v >= 0))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int nd_rt_deadline_write(const char *path, double deadline) {
        char tmp[PATH_MAX + 8], buf[64];
        int n = snprintf(buf, sizeof(buf), "%.3f\n", deadline);
        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        ssize_t k = write(fd, buf, (size_t) n);
        int r = k == n ? 0 : (k < 0 ? -errno : -EIO);
        close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
