/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upstream servers: --dns, else the nameservers of the host's
 * resolv.conf, re-read when it changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "server-internal.h"

#define RESOLV_MAX (64 * 1024)

size_t nd_dns_resolv_parse(const char *text, size_t len, nd_addr *out, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < len && n < max;) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t l = nl ? (size_t) (nl - (text + i)) : len - i;
                char line[512], word[64];
                /* longer lines are no nameserver lines; a piece of one must
                 * not pass for a line of its own */
                if (l < sizeof(line)) {
                        memcpy(line, text + i, l);
                        line[l] = 0;
                        if (sscanf(line, " nameserver %63s", word) == 1 && nd_addr_parse(word, &out[n]) == 0)
                                n++;
                }
                i += l + 1;
        }
        return n;
}

static size_t parse_resolv(const char *path, nd_addr *out, size_t max) {
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        char *text = malloc(RESOLV_MAX);
        size_t len = text ? fread(text, 1, RESOLV_MAX, f) : 0;
        fclose(f);
        size_t n = text ? nd_dns_resolv_parse(text, len, out, max) : 0;
        free(text);
        return n;
}

static void reload_upstreams(nd_dns *d) {
        nd_dns_upsocks_retire_all(d);
        if (d->n_fixed) {
                memcpy(d->ups, d->fixed, d->n_fixed * sizeof(*d->ups));
                d->n_ups = d->n_fixed;
                return;
        }
        d->n_ups = parse_resolv(d->resolv, d->ups, ND_DNS_MAX_UPSTREAMS);
}

static void on_resolv(struct ev_loop *loop, ev_stat *w, int revents) {
        reload_upstreams(container_of(w, nd_dns, st));
}

void nd_dns_upstreams_start(nd_dns *d) {
        reload_upstreams(d);
        if (!d->n_fixed) {
                /* a resolv.conf that changes (DHCP, an operator) is picked
                 * up without a restart */
                ev_stat_init(&d->st, on_resolv, d->resolv, 1.);
                ev_stat_start(d->loop, &d->st);
        }
}
