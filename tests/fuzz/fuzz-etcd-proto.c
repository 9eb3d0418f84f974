/* SPDX-License-Identifier: Apache-2.0 */
/* What etcd's JSON gateway sends: unary replies (range, txn, lease
 * keep-alive, errors) and the newline-delimited watch stream, run through
 * the watcher's revision bookkeeping as store-etcd-watch.c does it.
 * Invariants: no crash or leak; parsed kvs have keys and NUL-terminated
 * values of their length; revisions are in [0, INT64_MAX - 1] so the next
 * revision never overflows; the watcher's revision never goes back. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etcd-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_kv(const nd_store_kv *kv) {
        assert(kv->key && kv->value && strlen(kv->value) <= kv->value_len && kv->value[kv->value_len] == 0);
        assert(kv->mod_rev >= 0 && kv->mod_rev < INT64_MAX && kv->create_rev >= 0 && kv->lease >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data;
        json_error_t jerr;

        if (size > 65536)
                return 0;
        /* a whole unary reply, as finish() loads it */
        json_t *j = json_loadb(p, size, JSON_DISABLE_EOF_CHECK, &jerr);
        if (j) {
                (void) nd_etcd_reply_errno(j, 200);
                (void) nd_etcd_reply_errno(j, 500);
                (void) nd_etcd_auth_error(j);
                nd_etcd_range g;
                if (nd_etcd_parse_range(j, &g) == 0) {
                        for (size_t i = 0; i < g.n; i++)
                                check_kv(&g.kvs[i]);
                        assert(g.rev >= 0 && g.rev < INT64_MAX);
                        nd_etcd_range_done(&g);
                }
                int64_t x;
                if (nd_etcd_parse_txn(j, &x) == 0)
                        assert(x >= 0 && x < INT64_MAX);
                if (nd_etcd_parse_keepalive(j, &x) == 0)
                        assert(x >= 0);
                json_decref(j);
        }

        /* the same bytes as a watch stream */
        int64_t next_rev = 0;
        size_t off = 0, k;
        while ((k = nd_etcd_stream_next(p + off, size - off, &j)) > 0) {
                assert(k <= size - off && p[off + k - 1] == '\n');
                off += k;
                if (!j)
                        continue;
                nd_etcd_watch_msg m;
                if (nd_etcd_parse_watch(j, &m) == 0) {
                        if (m.kind == ND_ETCD_WATCH_RESULT) {
                                if (m.created && next_rev == 0)
                                        next_rev = m.rev + 1;
                                for (size_t i = 0; i < m.n_events; i++) {
                                        const nd_etcd_watch_event *e = &m.events[i];
                                        check_kv(&e->ev.kv);
                                        assert(e->ev.type == ND_STORE_EVENT_PUT || e->ev.type == ND_STORE_EVENT_DELETE);
                                        if (e->ev.kv.mod_rev >= next_rev && e->last_of_rev) {
                                                assert(e->ev.kv.mod_rev + 1 > next_rev);
                                                next_rev = e->ev.kv.mod_rev + 1;
                                        }
                                }
                        } else
                                assert(m.n_events == 0);
                        nd_etcd_watch_msg_done(&m);
                }
                json_decref(j);
        }
        assert(off <= size && !memchr(p + off, '\n', size - off));

        /* base64 both ways */
        char *t = nd_etcd_b64_encode(p, size);
        assert(t);
        size_t n;
        char *back = nd_etcd_b64_decode(t, &n);
        assert(back && n == size && memcmp(back, p, size) == 0);
        free(back);
        free(t);
        return 0;
}
