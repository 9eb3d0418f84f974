/* SPDX-License-Identifier: Apache-2.0 */
/* Events, their filters and history; see event.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "json-util.h"
#include "macro.h"

static const char *const key_names[_ND_EVENT_KEY_MAX] = {
        [ND_EVENT_KEY_TYPE] = "type",       [ND_EVENT_KEY_EVENT] = "event",     [ND_EVENT_KEY_NETWORK] = "network",
        [ND_EVENT_KEY_CONTAINER] = "container", [ND_EVENT_KEY_SERVICE] = "service", [ND_EVENT_KEY_NODE] = "node",
};

static const char *const types[] = { "container", "network", "endpoint", "service", "node", "firewall" };

bool nd_event_type_valid(const char *type) {
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (strcmp(type, types[i]) == 0)
                        return true;
        return false;
}

static nd_event_key key_from_string(const char *s) {
        for (int k = 0; k < _ND_EVENT_KEY_MAX; k++)
                if (strcmp(s, key_names[k]) == 0)
                        return (nd_event_key) k;
        return _ND_EVENT_KEY_INVALID;
}

int nd_event_filter_add(nd_event_filter *f, const char *key, const char *value, nd_diag *d) {
        nd_event_key k = key_from_string(key);
        size_t len = strlen(value);

        if (k < 0)
                return nd_diag_set(d, -EINVAL, "unknown event filter '%.64s' (type, event, network, container, "
                                   "service, node)", key);
        if (len == 0 || len > ND_EVENT_FILTER_VALUE_MAX)
                return nd_diag_set(d, -EINVAL, "event filter %s: value of %zu bytes (1..%d)", key, len,
                                   ND_EVENT_FILTER_VALUE_MAX);
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return nd_diag_set(d, -EINVAL, "event filter %s: control character in the value", key);
        if (k == ND_EVENT_KEY_TYPE && !nd_event_type_valid(value))
                return nd_diag_set(d, -EINVAL, "event filter type '%.64s': want container, network, endpoint, "
                                   "service, node or firewall", value);
        for (size_t i = 0; i < f->n[k]; i++)
                if (strcmp(f->values[k][i], value) == 0)
                        return 0;
        if (f->n[k] == ND_EVENT_FILTER_VALUES)
                return nd_diag_set(d, -E2BIG, "event filter %s: more than %d values", key, ND_EVENT_FILTER_VALUES);
        if (!(f->values[k][f->n[k]] = strdup(value)))
                return nd_diag_set(d, -ENOMEM, "out of memory");
        f->n[k]++;
        return 0;
}

int nd_event_filter_add_json(nd_event_filter *f, const char *text, size_t len, nd_diag *d) {
        json_error_t err;
        const char *key;
        json_t *v;
        int r;

        _cleanup_json_ json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!j || !json_is_object(j))
                return nd_diag_set(d, -EINVAL, "filters: want a JSON object of lists (%s)", j ? "not an object" : err.text);
        json_object_foreach(j, key, v) {
                size_t i;
                json_t *x;
                const char *vk;
                if (json_is_array(v)) {
                        json_array_foreach(v, i, x) {
                                if (!json_is_string(x))
                                        return nd_diag_set(d, -EINVAL, "filters: %.64s: want strings", key);
                                if ((r = nd_event_filter_add(f, key, json_string_value(x), d)) < 0)
                                        return r;
                        }
                } else if (json_is_object(v)) {
                        json_object_foreach(v, vk, x) {
                                if (!json_is_boolean(x))
                                        return nd_diag_set(d, -EINVAL, "filters: %.64s: want {\"VALUE\": true}", key);
                                if (json_is_true(x) && (r = nd_event_filter_add(f, key, vk, d)) < 0)
                                        return r;
                        }
                } else
                        return nd_diag_set(d, -EINVAL, "filters: %.64s: want a list or an object", key);
        }
        return 0;
}

void nd_event_filter_done(nd_event_filter *f) {
        for (int k = 0; k < _ND_EVENT_KEY_MAX; k++) {
                for (size_t i = 0; i < f->n[k]; i++)
                        free(f->values[k][i]);
                f->n[k] = 0;
        }
}

/* An actor reference: the name, the whole id, or an id prefix of at
 * least 12 characters (what `netctl ps` shows). */
static bool ref_matches(const char *want, const char *id, const char *name) {
        size_t n = strlen(want);
        if (name && strcmp(want, name) == 0)
                return true;
        return id && (strcmp(want, id) == 0 || (n >= 12 && strncmp(want, id, n) == 0));
}

static const char *str_at(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static bool key_matches(const nd_event_filter *f, nd_event_key k, const json_t *ev) {
        const json_t *actor = json_object_get(ev, "actor"), *attrs = json_object_get(actor, "attributes");
        const char *type = str_at(ev, "type"), *action = str_at(ev, "action");
        const char *id = str_at(actor, "id"), *name = str_at(actor, "name");
        static const char *const own_type[_ND_EVENT_KEY_MAX] = {
                [ND_EVENT_KEY_NETWORK] = "network", [ND_EVENT_KEY_CONTAINER] = "container",
                [ND_EVENT_KEY_SERVICE] = "service",
        };
        static const char *const attr_id[_ND_EVENT_KEY_MAX] = {
                [ND_EVENT_KEY_NETWORK] = "networkId", [ND_EVENT_KEY_CONTAINER] = "container",
                [ND_EVENT_KEY_SERVICE] = "serviceId",
        };
        static const char *const attr_name[_ND_EVENT_KEY_MAX] = {
                [ND_EVENT_KEY_NETWORK] = "network", [ND_EVENT_KEY_CONTAINER] = "containerName",
                [ND_EVENT_KEY_SERVICE] = "service",
        };

        for (size_t i = 0; i < f->n[k]; i++) {
                const char *v = f->values[k][i];
                switch (k) {
                case ND_EVENT_KEY_TYPE:
                        if (type && strcmp(v, type) == 0)
                                return true;
                        break;
                case ND_EVENT_KEY_EVENT: {
                        size_t n = strlen(v);
                        if (action && (strcmp(v, action) == 0 || (strncmp(v, action, n) == 0 && action[n] == ':')))
                                return true;
                        break;
                }
                case ND_EVENT_KEY_NODE:
                        if (str_at(ev, "node") && strcmp(v, str_at(ev, "node")) == 0)
                                return true;
                        break;
                default:
                        if (type && strcmp(type, own_type[k]) == 0 ? ref_matches(v, id, name)
                                                                  : ref_matches(v, str_at(attrs, attr_id[k]),
                                                                                str_at(attrs, attr_name[k])))
                                return true;
                        break;
                }
        }
        return false;
}

bool nd_event_filter_match(const nd_event_filter *f, const json_t *ev) {
        for (int k = 0; k < _ND_EVENT_KEY_MAX; k++)
                if (f->n[k] && !key_matches(f, (nd_event_key) k, ev))
                        return false;
        return true;
}

/* ---- times ---- */

static int digits(const char *p, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EINVAL;
                v = v * 10 + (p[i] - '0');
        }
        *ret = v;
        return 0;
}

/* ".123456789" at @p: nanoseconds, the characters taken in *ret_len. */
static int fraction(const char *p, int64_t *ret_ns, size_t *ret_len) {
        size_t i = 1;
        int64_t ns = 0, scale = 100000000;
        if (p[0] != '.') {
                *ret_ns = 0;
                *ret_len = 0;
                return 0;
        }
        for (; p[i] >= '0' && p[i] <= '9'; i++) {
                ns += (p[i] - '0') * scale;
                scale /= 10;
        }
        if (i == 1)
                return -EINVAL;
        *ret_ns = ns;
        *ret_len = i;
        return 0;
}

/* @sec seconds plus @frac nanoseconds as nanoseconds since the epoch, or -ERANGE where int64_t ends
 * (about the year 2262). */
static int seconds_to_ns(int64_t sec, int64_t frac, int64_t *ret_ns) {
        int64_t ns;
        if (__builtin_mul_overflow(sec, (int64_t) 1000000000, &ns) || __builtin_add_overflow(ns, frac, &ns))
                return -ERANGE;
        *ret_ns = ns;
        return 0;
}

static int rfc3339(const char *s, int64_t *ret_ns) {
        int Y, M, D, h, m, sec, oh = 0, om = 0;
        int64_t frac;
        size_t fl;
        if (strlen(s) < 20 || digits(s, 4, &Y) < 0 || s[4] != '-' || digits(s + 5, 2, &M) < 0 || s[7] != '-' ||
            digits(s + 8, 2, &D) < 0 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) < 0 ||
            s[13] != ':' || digits(s + 14, 2, &m) < 0 || s[16] != ':' || digits(s + 17, 2, &sec) < 0)
                return -EINVAL;
        if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
                return -EINVAL;
        const char *p = s + 19;
        if (fraction(p, &frac, &fl) < 0)
                return -EINVAL;
        p += fl;
        int sign = 0;
        if ((*p == 'Z' || *p == 'z') && p[1] == 0)
                sign = 0;
        else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) == 0 && p[3] == ':' &&
                 digits(p + 4, 2, &om) == 0 && oh <= 23 && om <= 59)
                sign = *p == '+' ? 1 : -1;
        else
                return -EINVAL;
        struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m,
                         .tm_sec = sec };
        time_t t = timegm(&tm);
        if (t == (time_t) -1 || tm.tm_mday != D) /* (timegm normalises Feb 30 to March) */
                return -EINVAL;
        t -= sign * (oh * 3600 + om * 60);
        return seconds_to_ns((int64_t) t, frac, ret_ns);
}

int nd_event_time_parse(const char *s, int64_t now_ns, int64_t *ret_ns, nd_diag *d) {
        size_t n = strspn(s, "0123456789");
        int64_t frac, ns;
        size_t fl;
        int r;

        /* The digit bounds keep strtoll() in range; the products are checked, since 11 digits of seconds
         * or 9 of hours already pass the end of int64_t nanoseconds. */
        if (n > 0 && n <= 11 && fraction(s + n, &frac, &fl) == 0 && s[n + fl] == 0)
                r = seconds_to_ns(strtoll(s, NULL, 10), frac, ret_ns);
        else if (n > 0 && n <= 9 && s[n + 1] == 0 && strchr("smh", s[n])) {
                int64_t v = strtoll(s, NULL, 10) * (s[n] == 's' ? 1 : s[n] == 'm' ? 60 : 3600);
                r = seconds_to_ns(v, 0, &ns);
                if (r == 0 && __builtin_sub_overflow(now_ns, ns, ret_ns))
                        r = -ERANGE;
        } else
                r = rfc3339(s, ret_ns);
        if (r == -ERANGE)
                return nd_diag_set(d, -EINVAL, "time '%.64s': out of range (nanoseconds since 1970 in 64 bits: years 1678 to 2262)", s);
        if (r < 0)
                return nd_diag_set(d, -EINVAL, "time '%.64s': want unix seconds, RFC 3339 or a duration (10m)", s);
        return 0;
}

json_t *nd_event_new(int64_t time_ns, const char *type, const char *action, const char *id, const char *name,
                     json_t *attrs, const char *node) {
        json_t *actor = json_pack("{s:s, s:o}", "id", id ? id : "", "attributes", attrs ? attrs : json_object());
        if (actor && name)
                json_object_set_new(actor, "name", json_string(name));
        json_t *ev = actor ? json_pack("{s:I, s:I, s:s, s:s, s:o}", "time", (json_int_t) (time_ns / 1000000000),
                                       "timeNano", (json_int_t) time_ns, "type", type, "action", action, "actor", actor)
                           : NULL;
        if (ev && node)
                json_object_set_new(ev, "node", json_string(node));
        return ev;
}

/* ---- the ring ---- */

int nd_event_ring_init(nd_event_ring *r, size_t cap) {
        *r = (nd_event_ring) { .cap = cap };
        if (cap == 0 || !(r->e = calloc(cap, sizeof(*r->e))))
                return -ENOMEM;
        return 0;
}

static void entry_clear(nd_event_entry *e) {
        json_decref(e->ev);
        free(e->line);
        *e = (nd_event_entry) {};
}

void nd_event_ring_done(nd_event_ring *r) {
        for (size_t i = 0; i < r->n; i++)
                entry_clear(&r->e[(r->head + i) % r->cap]);
        free(r->e);
        *r = (nd_event_ring) {};
}

const nd_event_entry *nd_event_ring_push(nd_event_ring *r, json_t *ev, int64_t time_ns) {
        if (!ev)
                return NULL;
        if (time_ns < r->last_ns) {
                time_ns = r->last_ns;
                json_object_set_new(ev, "time", json_integer((json_int_t) (time_ns / 1000000000)));
                json_object_set_new(ev, "timeNano", json_integer((json_int_t) time_ns));
        }
        char *s = json_dumps(ev, JSON_COMPACT);
        size_t len = s ? strlen(s) : 0;
        char *line = s ? realloc(s, len + 2) : NULL;
        if (!line) {
                free(s);
                json_decref(ev);
                return NULL;
        }
        line[len++] = '\n';
        line[len] = 0;
        size_t slot;
        if (r->n == r->cap) {
                slot = r->head;
                entry_clear(&r->e[slot]);
                r->head = (r->head + 1) % r->cap;
        } else
                slot = (r->head + r->n++) % r->cap;
        r->e[slot] = (nd_event_entry) { .seq = r->next_seq++, .time_ns = time_ns, .ev = ev, .line = line, .len = len };
        r->last_ns = time_ns;
        return &r->e[slot];
}

uint64_t nd_event_ring_first_seq(const nd_event_ring *r) {
        return r->next_seq - r->n;
}

const nd_event_entry *nd_event_ring_get(const nd_event_ring *r, uint64_t seq) {
        uint64_t first = nd_event_ring_first_seq(r);
        if (seq < first || seq >= r->next_seq)
                return NULL;
        return &r->e[(r->head + (size_t) (seq - first)) % r->cap];
}

uint64_t nd_event_ring_find(const nd_event_ring *r, int64_t since_ns) {
        size_t lo = 0, hi = r->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->e[(r->head + mid) % r->cap].time_ns < since_ns)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return nd_event_ring_first_seq(r) + lo;
}
