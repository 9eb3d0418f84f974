/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd-proto.h"

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *nd_etcd_b64_encode(const char *p, size_t n) {
        char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) (uint8_t) p[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) (uint8_t) p[i + 1] << 8;
                if (i + 2 < n)
                        v |= (uint8_t) p[i + 2];
                *o++ = b64[v >> 18];
                *o++ = b64[(v >> 12) & 63];
                *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int b64_val(char c) {
        const char *q = c ? strchr(b64, c) : NULL;
        return q ? (int) (q - b64) : -1;
}

char *nd_etcd_b64_decode(const char *in, size_t *len) {
        size_t n = strlen(in);
        char *out = malloc(n / 4 * 3 + 1), *o = out;
        if (!out || n % 4) {
                free(out);
                return NULL;
        }
        for (size_t i = 0; i < n; i += 4) {
                int a = b64_val(in[i]), b = b64_val(in[i + 1]);
                int c = in[i + 2] == '=' ? 0 : b64_val(in[i + 2]);
                int d = in[i + 3] == '=' ? 0 : b64_val(in[i + 3]);
                if (a < 0 || b < 0 || c < 0 || d < 0 || (in[i + 2] == '=' && in[i + 3] != '=')) {
                        free(out);
                        return NULL;
                }
                uint32_t v = (uint32_t) a << 18 | (uint32_t) b << 12 | (uint32_t) c << 6 | (uint32_t) d;
                *o++ = (char) (v >> 16);
                if (in[i + 2] != '=')
                        *o++ = (char) (v >> 8);
                if (in[i + 3] != '=')
                        *o++ = (char) v;
        }
        *o = 0;
        if (len)
                *len = (size_t) (o - out);
        return out;
}

/* ---- fields ---- */

int64_t nd_etcd_json_i64(const json_t *o, const char *field) {
        const json_t *v = json_object_get(o, field);
        long long x = 0;
        if (json_is_string(v))
                x = strtoll(json_string_value(v), NULL, 10);
        else if (json_is_integer(v))
                x = json_integer_value(v);
        /* callers step to the next revision: INT64_MAX (strtoll's
         * saturation) would overflow, and nothing etcd counts is negative */
        return x >= 0 && x < INT64_MAX ? (int64_t) x : 0;
}

int nd_etcd_kv_from_json(const json_t *j, nd_store_kv *kv, char **k, char **v) {
        const char *ks = json_string_value(json_object_get(j, "key"));
        const char *vs = json_string_value(json_object_get(j, "value"));
        *k = ks ? nd_etcd_b64_decode(ks, NULL) : NULL;
        *v = nd_etcd_b64_decode(vs ? vs : "", &kv->value_len);
        if (!*k || !*v) {
                free(*k);
                free(*v);
                *k = *v = NULL;
                return -EBADMSG;
        }
        kv->key = *k;
        kv->value = *v;
        kv->create_rev = nd_etcd_json_i64(j, "create_revision");
        kv->mod_rev = nd_etcd_json_i64(j, "mod_revision");
        kv->lease = nd_etcd_json_i64(j, "lease");
        return 0;
}

/* ---- errors ---- */

int nd_etcd_grpc_errno(const json_t *j) {
        switch (json_integer_value(json_object_get(j, "code"))) {
        case 3: return -EINVAL;      /* InvalidArgument */
        case 4: return -ETIMEDOUT;   /* DeadlineExceeded */
        case 5: return -ENOENT;      /* NotFound: lease */
        case 7: return -EACCES;      /* PermissionDenied */
        case 8: return -ENOSPC;      /* ResourceExhausted */
        case 9: return -ECANCELED;   /* FailedPrecondition */
        case 11: return -ESTALE;     /* OutOfRange: compacted */
        case 14: return -EAGAIN;     /* Unavailable */
        case 16: return -EACCES;     /* Unauthenticated */
        default: return -EIO;
        }
}

int nd_etcd_reply_errno(const json_t *j, long http) {
        if (!json_object_get(j, "error") && http == 200)
                return 0;
        return json_object_get(j, "code") ? nd_etcd_grpc_errno(j) : -EIO;
}

bool nd_etcd_auth_error(const json_t *j) {
        const json_t *o = json_is_object(json_object_get(j, "error")) ? json_object_get(j, "error") : j;
        const char *m = json_string_value(json_object_get(o, "error"));
        if (!m)
                m = json_string_value(json_object_get(o, "message"));
        return json_integer_value(json_object_get(o, "code")) == 16 ||
               json_integer_value(json_object_get(o, "grpc_code")) == 16 ||
               (m && (strstr(m, "invalid auth token") || strstr(m, "user name is empty")));
}

/* ---- unary replies ---- */

static void strs_free(char **strs, size_t n) {
        for (size_t i = 0; strs && i < n; i++)
                free(strs[i]);
        free(strs);
}

int nd_etcd_parse_range(const json_t *j, nd_etcd_range *ret) {
        const json_t *kvs = json_object_get(j, "kvs");
        size_t n = json_array_size(kvs);
        nd_etcd_range r = { .rev = nd_etcd_json_i64(json_object_get(j, "header"), "revision") };

        *ret = (nd_etcd_range) {0};
        r.kvs = calloc(n ? n : 1, sizeof(*r.kvs));
        r.strs = calloc(2 * n + 1, sizeof(char *));
        if (!r.kvs || !r.strs) {
                free(r.kvs);
                free(r.strs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (nd_etcd_kv_from_json(json_array_get(kvs, i), &r.kvs[i], &r.strs[2 * i], &r.strs[2 * i + 1]) < 0) {
                        strs_free(r.strs, 2 * n);
                        free(r.kvs);
                        return -EBADMSG;
                }
        r.n = n;
        *ret = r;
        return 0;
}

void nd_etcd_range_done(nd_etcd_range *r) {
        strs_free(r->strs, 2 * r->n);
        free(r->kvs);
        *r = (nd_etcd_range) {0};
}

int nd_etcd_parse_txn(const json_t *j, int64_t *ret_rev) {
        *ret_rev = 0;
        if (!json_is_true(json_object_get(j, "succeeded")))
                return -ECANCELED;
        *ret_rev = nd_etcd_json_i64(json_object_get(j, "header"), "revision");
        return 0;
}

int nd_etcd_parse_keepalive(const json_t *j, int64_t *ret_id) {
        const json_t *res = json_object_get(j, "result");
        *ret_id = 0;
        if (nd_etcd_json_i64(res, "TTL") <= 0)
                return -ENOENT;
        *ret_id = nd_etcd_json_i64(res, "ID");
        return 0;
}

/* ---- the watch stream ---- */

size_t nd_etcd_stream_next(const char *p, size_t n, json_t **ret) {
        const char *nl = memchr(p, '\n', n);
        json_error_t err;
        *ret = NULL;
        if (!nl)
                return 0;
        *ret = json_loadb(p, (size_t) (nl - p), 0, &err);
        return (size_t) (nl - p) + 1;
}

int nd_etcd_parse_watch(const json_t *j, nd_etcd_watch_msg *ret) {
        const json_t *res = json_object_get(j, "result");
        nd_etcd_watch_msg m = {0};

        *ret = m;
        if (!res) {
                const json_t *err = json_object_get(j, "error");
                m.kind = ND_ETCD_WATCH_ERROR;
                m.auth = err && nd_etcd_auth_error(err);
                m.stale = err && nd_etcd_grpc_errno(err) == -ESTALE;
                *ret = m;
                return 0;
        }
        m.rev = nd_etcd_json_i64(json_object_get(res, "header"), "revision");
        if (json_is_true(json_object_get(res, "canceled"))) {
                m.kind = nd_etcd_json_i64(res, "compact_revision") > 0 ? ND_ETCD_WATCH_COMPACTED
                                                                        : ND_ETCD_WATCH_CANCELED;
                m.cancel_reason = json_string_value(json_object_get(res, "cancel_reason"));
                *ret = m;
                return 0;
        }
        m.kind = ND_ETCD_WATCH_RESULT;
        m.created = json_is_true(json_object_get(res, "created"));
        const json_t *evs = json_object_get(res, "events");
        size_t n = json_array_size(evs);
        m.events = calloc(n ? n : 1, sizeof(*m.events));
        m.strs = calloc(2 * n + 1, sizeof(char *));
        if (!m.events || !m.strs) {
                free(m.events);
                free(m.strs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(evs, i);
                nd_etcd_watch_event *we = &m.events[m.n_events];
                /* a kv that does not parse is skipped, not fatal: the
                 * others of the revision still count */
                if (nd_etcd_kv_from_json(json_object_get(e, "kv"), &we->ev.kv, &m.strs[2 * m.n_events],
                                         &m.strs[2 * m.n_events + 1]) < 0)
                        continue;
                const char *type = json_string_value(json_object_get(e, "type"));
                we->ev.type = type && strcmp(type, "DELETE") == 0 ? ND_STORE_EVENT_DELETE : ND_STORE_EVENT_PUT;
                /* after a resume etcd may repeat the revision it stopped in
                 * the middle of: the watcher moves past a revision only at
                 * its last event */
                we->last_of_rev = i + 1 == n ||
                                  nd_etcd_json_i64(json_object_get(json_array_get(evs, i + 1), "kv"), "mod_revision") >
                                          we->ev.kv.mod_rev;
                m.n_events++;
        }
        *ret = m;
        return 0;
}

void nd_etcd_watch_msg_done(nd_etcd_watch_msg *m) {
        strs_free(m->strs, 2 * m->n_events);
        free(m->events);
        *m = (nd_etcd_watch_msg) {0};
}
