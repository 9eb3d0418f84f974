/* SPDX-License-Identifier: Apache-2.0 */
/* netctl's HTTP helpers and flag parsers, shared by its command files. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"
#include "uclient.h"

const char *socket_path;

/* ---- HTTP ----------------------------------------------------------------- */

/* long enough for a container start that pulls nothing but waits on the
 * store and the kernel */
#define CALL_TIMEOUT_MS (120 * 1000)

/* Returns the HTTP status, or -1 after printing why there was none.  On
 * success *ret holds the parsed body (NULL when empty). */
long call(const char *method, const char *path, json_t *req, json_t **ret) {
        nd_diag d = {};
        int r;

        *ret = NULL;
        _cleanup_close_ int fd = nd_uclient_connect(socket_path, CALL_TIMEOUT_MS, &d);
        if (fd == -ENOENT || fd == -ECONNREFUSED) {
                fprintf(stderr, "netctl: cannot connect to netd at %s: is the daemon running?\n", socket_path);
                return -1;
        }
        if (fd < 0) {
                fprintf(stderr, "netctl: %s\n", d.msg);
                return -1;
        }
        r = nd_uclient_call_json(fd, method, path, req, CALL_TIMEOUT_MS, ret, &d);
        if (r == -EBADMSG)
                fprintf(stderr, "netctl: %s\n", d.msg);
        else if (r < 0)
                fprintf(stderr, "netctl: talking to netd at %s failed: %s\n", socket_path, d.msg);
        return r < 0 ? -1 : r;
}

/* Print the daemon's message for an error status; returns 1. */
int fail(long status, json_t *reply, const char *what) {
        json_t *m = json_object_get(reply, "message");
        if (status < 0)
                return 1;
        fprintf(stderr, "netctl: %s%s%s\n", what ? what : "", what ? ": " : "",
                json_is_string(m) ? json_string_value(m) : "unexpected reply from netd");
        return 1;
}

void print_json(json_t *j) {
        char *s = json_dumps(j, JSON_INDENT(4) | JSON_ENCODE_ANY);
        if (s)
                printf("%s\n", s);
        free(s);
}

int ctl_usage(int argc, char **argv, const char *usage, int min_argc) {
        if (wants_help(argc, argv)) {
                fputs(usage, stdout);
                return 0;
        }
        if (argc < min_argc) {
                fputs(usage, stderr);
                return 2;
        }
        return -1;
}

bool wants_help(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        }
        return false;
}

/* A path segment: names are [A-Za-z0-9_.-] and addresses [0-9a-f.:], so no
 * escaping is needed; anything else is refused before it reaches a URL. */
bool segment_ok(const char *s) {
        return *s && strlen(s) < 256 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:") == strlen(s);
}

int ctl_each(char **refs, int n, const char *method, const char *prefix, const char *suffix, const char *what) {
        int rc = 0;
        for (int i = 0; i < n; i++) {
                char path[512];
                _cleanup_json_ json_t *reply = NULL;
                if (!segment_ok(refs[i])) {
                        fprintf(stderr, "netctl: no such %s: '%s'\n", what, refs[i]);
                        rc = 1;
                        continue;
                }
                snprintf(path, sizeof(path), "%s%s%s", prefix, refs[i], suffix ? suffix : "");
                long st = call(method, path, NULL, &reply);
                if (st >= 200 && st < 300)
                        printf("%s\n", refs[i]);
                else {
                        rc = fail(st, reply, NULL);
                        if (st < 0)
                                return 1; /* no daemon: the rest would fail alike */
                }
        }
        return rc;
}

int ctl_gw_priority_parse(const char *s, long long *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || errno || v < -1000000000LL || v > 1000000000LL) {
                fprintf(stderr, "netctl: invalid --gw-priority '%s': want an integer\n", s);
                return -1;
        }
        *ret = v;
        return 0;
}
