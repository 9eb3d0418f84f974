/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topology document as DOT (ctl-dot.h).  Two passes: index hosts,
 * networks and endpoints by id and sort everything into the host that
 * holds it (or the top level), then write the clusters and the edges.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-dot.h"

void nd_dot_escape(FILE *f, const char *s, size_t max) {
        size_t n = s ? strlen(s) : 0;
        bool cut = n > max;
        if (cut) {
                n = max;
                /* not inside a character: back to its first byte */
                while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                        n--;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '&')
                        fputs("&amp;", f);
                else if (c < 0x20 || c == 0x7f)
                        fputc('?', f);
                else
                        fputc(c, f);
        }
        if (cut)
                fputs("...", f);
}

static void text(FILE *f, const char *s) {
        nd_dot_escape(f, s, ND_DOT_MAX_STRING);
}

static const char *str(const json_t *j, const char *key) {
        const char *s = json_string_value(json_object_get(j, key));
        return s ? s : "";
}

/* A name for people: the name, else the id's first 12 characters. */
static void name_or_id(FILE *f, const json_t *j) {
        const char *name = str(j, "Name");
        if (*name)
                return text(f, name);
        nd_dot_escape(f, str(j, "Id"), 12);
}

struct dot {
        FILE *f;
        const json_t *hosts, *nets, *eps, *svcs;
        json_t *host_ix;  /* host id -> index */
        json_t *net_ix;   /* network id -> index */
        json_t *ep_ix;    /* host id "\x01" endpoint id -> index */
        json_t *groups;   /* per host, then one for the top level: {"n":[],"e":[],"s":[]} of indices */
};

/* The array @key of @topo; absent: NULL, which iterates as empty. */
static const json_t *list(const json_t *topo, const char *key, char *err, size_t errsz, int *r) {
        const json_t *a = json_object_get(topo, key);
        if (a && !json_is_array(a)) {
                snprintf(err, errsz, "not a topology document: '%s' is not an array", key);
                *r = -EINVAL;
        }
        return a;
}

/* Index @i under @key in @ix, the first one kept; an object without an
 * id cannot be referred to. */
static int index_put(json_t *ix, const char *key, size_t i) {
        if (!*key || json_object_get(ix, key))
                return 0;
        return json_object_set_new(ix, key, json_integer((json_int_t) i)) < 0 ? -ENOMEM : 0;
}

static long index_get(const json_t *ix, const char *key) {
        const json_t *v = json_object_get(ix, key);
        return v ? (long) json_integer_value(v) : -1;
}

static void ep_key(const char *host, const char *id, char **buf) {
        if (asprintf(buf, "%s\x01%s", host, id) < 0)
                *buf = NULL;
}

/* The group of the host named @host ("" or unknown: the top level). */
static json_t *group_of(struct dot *d, const char *host) {
        long h = *host ? index_get(d->host_ix, host) : -1;
        return json_array_get(d->groups, h >= 0 ? (size_t) h : json_array_size(d->hosts));
}

static int sort_in(struct dot *d, const json_t *items, const char *kind) {
        const json_t *v;
        size_t i;
        json_array_foreach(items, i, v)
                if (json_array_append_new(json_object_get(group_of(d, str(v, "Host")), kind),
                                          json_integer((json_int_t) i)) < 0)
                        return -ENOMEM;
        return 0;
}

static int build_index(struct dot *d) {
        const json_t *v;
        size_t i;
        json_array_foreach(d->hosts, i, v)
                if (index_put(d->host_ix, str(v, "Id"), i) < 0)
                        return -ENOMEM;
        json_array_foreach(d->nets, i, v)
                if (index_put(d->net_ix, str(v, "Id"), i) < 0)
                        return -ENOMEM;
        json_array_foreach(d->eps, i, v) {
                char *k;
                if (!*str(v, "Id"))
                        continue;
                ep_key(str(v, "Host"), str(v, "Id"), &k);
                if (!k || index_put(d->ep_ix, k, i) < 0) {
                        free(k);
                        return -ENOMEM;
                }
                free(k);
        }
        for (i = 0; i <= json_array_size(d->hosts); i++)
                if (json_array_append_new(d->groups, json_pack("{s:[], s:[], s:[]}", "n", "e", "s")) < 0)
                        return -ENOMEM;
        if (sort_in(d, d->nets, "n") < 0 || sort_in(d, d->eps, "e") < 0 || sort_in(d, d->svcs, "s") < 0)
                return -ENOMEM;
        return 0;
}

/* ---- nodes ---- */

static void network_node(struct dot *d, size_t i) {
        const json_t *n = json_array_get(d->nets, i), *sub;
        bool overlay = strcmp(str(n, "Driver"), "overlay") == 0;
        size_t k;
        fprintf(d->f, "  n%zu [shape=ellipse, style=filled, fillcolor=\"%s\", label=\"", i,
                overlay ? "#cfe2f3" : "#fff2cc");
        name_or_id(d->f, n);
        fputs("\\n", d->f);
        text(d->f, str(n, "Driver"));
        bool first = true;
        json_array_foreach(json_object_get(n, "Subnets"), k, sub) {
                if (!json_is_string(sub))
                        continue;
                fputs(first ? " " : ", ", d->f);
                text(d->f, json_string_value(sub));
                first = false;
        }
        if (json_is_true(json_object_get(n, "Internal")))
                fputs(", internal", d->f);
        fputs("\"];\n", d->f);
}

static void port_lines(FILE *f, const json_t *ports) {
        const json_t *p;
        size_t k;
        json_array_foreach(ports, k, p) {
                if (!json_is_string(p) && !json_is_object(p))
                        continue;
                fputs("\\n", f);
                if (json_is_string(p)) { /* a service's: "mode=ingress,8080:80/tcp" */
                        text(f, json_string_value(p));
                        continue;
                }
                if (*str(p, "HostIp")) {
                        text(f, str(p, "HostIp"));
                        fputc(':', f);
                }
                fprintf(f, "%lld->%lld/", (long long) json_integer_value(json_object_get(p, "HostPort")),
                        (long long) json_integer_value(json_object_get(p, "ContainerPort")));
                text(f, str(p, "Proto"));
        }
}

static const char *ep_shape(const char *kind) {
        if (strcmp(kind, "pod") == 0)
                return "box3d";
        if (strcmp(kind, "docker") == 0)
                return "component";
        if (strcmp(kind, "lb") == 0)
                return "cds";
        return "box";
}

static void endpoint_node(struct dot *d, size_t i) {
        const json_t *e = json_array_get(d->eps, i);
        const char *kind = str(e, "Kind"), *state = str(e, "State");
        bool running = !*state || strcmp(state, "running") == 0;
        fprintf(d->f, "  e%zu [shape=%s, style=\"%s\", label=\"", i, ep_shape(kind),
                running ? "rounded" : "rounded,dashed");
        if (strcmp(kind, "lb") == 0 && !*str(e, "Name"))
                fputs("SNAT", d->f);
        else
                name_or_id(d->f, e);
        fputs("\\n", d->f);
        text(d->f, kind);
        if (!running) {
                fputs(", ", d->f);
                text(d->f, state);
        }
        if (*str(e, "Service")) {
                fputs("\\ntask of ", d->f);
                text(d->f, str(e, "Service"));
        }
        port_lines(d->f, json_object_get(e, "Ports"));
        fprintf(d->f, "\"%s];\n", running ? "" : ", fontcolor=gray40, color=gray40");
}

static void service_node(struct dot *d, size_t i) {
        const json_t *s = json_array_get(d->svcs, i);
        fprintf(d->f, "  s%zu [shape=hexagon, style=filled, fillcolor=\"#d9ead3\", label=\"", i);
        name_or_id(d->f, s);
        fputs("\\nservice ", d->f);
        text(d->f, str(s, "Mode"));
        port_lines(d->f, json_object_get(s, "Ports"));
        fputs("\"];\n", d->f);
}

static void group_nodes(struct dot *d, const json_t *g) {
        const json_t *v;
        size_t k;
        json_array_foreach(json_object_get(g, "n"), k, v)
                network_node(d, (size_t) json_integer_value(v));
        json_array_foreach(json_object_get(g, "s"), k, v)
                service_node(d, (size_t) json_integer_value(v));
        json_array_foreach(json_object_get(g, "e"), k, v)
                endpoint_node(d, (size_t) json_integer_value(v));
}

static void host_cluster(struct dot *d, size_t i) {
        const json_t *h = json_array_get(d->hosts, i);
        const char *state = str(h, "State");
        bool live = strcmp(state, "live") == 0;
        fprintf(d->f, " subgraph cluster_h%zu {\n  graph [style=\"rounded%s\", color=\"%s\", label=\"", i,
                live ? "" : ",dashed", live ? "gray30" : "firebrick");
        name_or_id(d->f, h);
        if (json_is_true(json_object_get(h, "Self")))
                fputs(" (this host)", d->f);
        fputs("\\n", d->f);
        if (*str(h, "Addr")) {
                text(d->f, str(h, "Addr"));
                fputs(", ", d->f);
        }
        text(d->f, state);
        fputs("\"];\n", d->f);
        const json_t *g = json_array_get(d->groups, i);
        /* Graphviz draws no empty cluster: a host without anything of
         * its own gets an invisible node to stay in the picture */
        if (!json_array_size(json_object_get(g, "n")) && !json_array_size(json_object_get(g, "e")) &&
            !json_array_size(json_object_get(g, "s")))
                fprintf(d->f, "  h%zu [shape=point, style=invis];\n", i);
        group_nodes(d, g);
        fputs(" }\n", d->f);
}

/* ---- edges ---- */

static void address_label(FILE *f, const json_t *att) {
        const char *a4 = str(att, "IPv4"), *a6 = str(att, "IPv6");
        text(f, a4);
        if (*a4 && *a6)
                fputs("\\n", f);
        text(f, a6);
}

static void endpoint_edges(struct dot *d) {
        const json_t *e, *att;
        size_t i, k;
        json_array_foreach(d->eps, i, e)
                json_array_foreach(json_object_get(e, "Networks"), k, att) {
                        long n = index_get(d->net_ix, str(att, "Network"));
                        if (n < 0)
                                continue;
                        fprintf(d->f, " e%zu -> n%ld [label=\"", i, n);
                        address_label(d->f, att);
                        fputs("\"];\n", d->f);
                }
}

static int service_edges(struct dot *d) {
        const json_t *s, *v;
        size_t i, k;
        json_array_foreach(d->svcs, i, s) {
                json_array_foreach(json_object_get(s, "VirtualIPs"), k, v) {
                        long n = index_get(d->net_ix, str(v, "Network"));
                        if (n < 0)
                                continue;
                        fprintf(d->f, " s%zu -> n%ld [style=bold, color=\"#38761d\", label=\"VIP ", i, n);
                        text(d->f, str(v, "Addr"));
                        fputs("\"];\n", d->f);
                }
                json_array_foreach(json_object_get(s, "Tasks"), k, v) {
                        char *key;
                        ep_key(str(v, "Host"), str(v, "Endpoint"), &key);
                        if (!key)
                                return -ENOMEM;
                        long e = index_get(d->ep_ix, key);
                        free(key);
                        if (e >= 0)
                                fprintf(d->f, " s%zu -> e%ld [style=dashed, color=\"#38761d99\", penwidth=0.7, arrowhead=open];\n", i, e);
                }
        }
        return 0;
}

static int write_graph(struct dot *d) {
        fputs("digraph netd {\n"
              " graph [rankdir=LR, newrank=true, nodesep=0.15, ranksep=1.2, fontname=\"Helvetica\", fontsize=11];\n"
              " node [fontname=\"Helvetica\", fontsize=9, margin=\"0.08,0.03\"];\n"
              " edge [fontname=\"Helvetica\", fontsize=8, color=gray35];\n", d->f);
        for (size_t i = 0; i < json_array_size(d->hosts); i++)
                host_cluster(d, i);
        group_nodes(d, json_array_get(d->groups, json_array_size(d->hosts)));
        endpoint_edges(d);
        if (service_edges(d) < 0)
                return -ENOMEM;
        fputs("}\n", d->f);
        return 0;
}

int nd_dot_render(const json_t *topo, char **ret, char *err, size_t errsz) {
        struct dot d = {0};
        char *buf = NULL;
        size_t len = 0;
        int r = 0;

        *ret = NULL;
        if (!json_is_object(topo)) {
                snprintf(err, errsz, "not a topology document: not a JSON object");
                return -EINVAL;
        }
        d.hosts = list(topo, "Hosts", err, errsz, &r);
        d.nets = list(topo, "Networks", err, errsz, &r);
        d.eps = list(topo, "Endpoints", err, errsz, &r);
        d.svcs = list(topo, "Services", err, errsz, &r);
        if (r < 0)
                return r;
        d.host_ix = json_object();
        d.net_ix = json_object();
        d.ep_ix = json_object();
        d.groups = json_array();
        d.f = open_memstream(&buf, &len);
        r = -ENOMEM;
        if (d.f && d.host_ix && d.net_ix && d.ep_ix && d.groups && build_index(&d) == 0 && write_graph(&d) == 0)
                r = 0;
        if (d.f && (ferror(d.f) | fclose(d.f)) != 0)
                r = -ENOMEM;
        json_decref(d.host_ix);
        json_decref(d.net_ix);
        json_decref(d.ep_ix);
        json_decref(d.groups);
        if (r < 0) {
                free(buf);
                snprintf(err, errsz, "out of memory");
                return r;
        }
        *ret = buf;
        return 0;
}
