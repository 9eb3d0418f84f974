/* SPDX-License-Identifier: Apache-2.0 */
/* netctl's HTTP helpers, shared by its command files. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"

const char *socket_path;

/* ---- HTTP ----------------------------------------------------------------- */

struct body {
        char *p;
        size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct body *b = userdata;
        size_t k = size * nmemb;
        char *p = realloc(b->p, b->n + k + 1);
        if (!p)
                return 0;
        memcpy(p + b->n, ptr, k);
        b->p = p;
        b->n += k;
        b->p[b->n] = 0;
        return k;
}

/* Returns the HTTP status, or -1 after printing why there was none.  On
 * success *ret holds the parsed body (NULL when empty). */
long call(const char *method, const char *path, json_t *req, json_t **ret) {
        CURL *c = curl_easy_init();
        struct curl_slist *hdr = NULL;
        struct body b = {0};
        char url[2048], errbuf[CURL_ERROR_SIZE] = "";
        _cleanup_free_ char *payload = NULL;
        long status = -1;
        CURLcode rc;

        *ret = NULL;
        if (!c) {
                fprintf(stderr, "netctl: out of memory\n");
                return -1;
        }
        snprintf(url, sizeof(url), "http://netd%s", path);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
        if (req) {
                payload = json_dumps(req, JSON_COMPACT);
                hdr = curl_slist_append(hdr, "Content-Type: application/json");
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload ? payload : "");
        }
        rc = curl_easy_perform(c);
        if (rc == CURLE_COULDNT_CONNECT)
                fprintf(stderr, "netctl: cannot connect to netd at %s: is the daemon running?\n", socket_path);
        else if (rc != CURLE_OK)
                fprintf(stderr, "netctl: talking to netd at %s failed: %s\n", socket_path,
                        *errbuf ? errbuf : curl_easy_strerror(rc));
        else {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                if (b.n) {
                        json_error_t err;
                        *ret = json_loadb(b.p, b.n, 0, &err);
                        if (!*ret) {
                                fprintf(stderr, "netctl: netd sent a malformed reply (HTTP %ld): %s\n", status,
                                        err.text);
                                status = -1;
                        }
                }
        }
        free(b.p);
        curl_slist_free_all(hdr);
        curl_easy_cleanup(c);
        return status;
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
