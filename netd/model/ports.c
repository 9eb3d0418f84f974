/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "ports.h"

const char *nd_proto_name(uint8_t proto) {
        switch (proto) {
        case IPPROTO_TCP: return "tcp";
        case IPPROTO_UDP: return "udp";
        case IPPROTO_SCTP: return "sctp";
        default: return "?";
        }
}

int nd_proto_parse(const char *s, uint8_t *ret) {
        if (strcmp(s, "tcp") == 0)
                *ret = IPPROTO_TCP;
        else if (strcmp(s, "udp") == 0)
                *ret = IPPROTO_UDP;
        else if (strcmp(s, "sctp") == 0)
                *ret = IPPROTO_SCTP;
        else
                return -EINVAL;
        return 0;
}

/* "N" or "N-M", 1..65535, N <= M.  An empty string is a range of none. */
static int parse_range(const char *s, size_t len, unsigned *lo, unsigned *hi) {
        char buf[16], *dash, *end;
        unsigned long a, b;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (buf[0] < '0' || buf[0] > '9')
                return -EINVAL;
        a = strtoul(buf, &end, 10);
        dash = end;
        if (*dash == 0)
                b = a;
        else if (*dash == '-' && dash[1] >= '0' && dash[1] <= '9') {
                b = strtoul(dash + 1, &end, 10);
                if (*end)
                        return -EINVAL;
        } else
                return -EINVAL;
        if (a < 1 || a > 65535 || b < 1 || b > 65535 || a > b)
                return -ERANGE;
        *lo = (unsigned) a;
        *hi = (unsigned) b;
        return 0;
}

int nd_port_spec_parse(const char *s, nd_port_spec **specs, size_t *n, nd_diag *d) {
        char ipbuf[ND_ADDR_STRLEN + 1];
        const char *slash, *host = NULL, *hport = NULL, *cport, *end;
        size_t hlen = 0, hplen = 0, cplen;
        unsigned clo, chi, hlo = 0, hhi = 0;
        nd_port_spec base = { .proto = IPPROTO_TCP };

        if (!s || !*s || strlen(s) > 128)
                return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s'", s ? s : "");
        end = s + strlen(s);
        slash = strchr(s, '/');
        if (slash) {
                if (nd_proto_parse(slash + 1, &base.proto) < 0)
                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': protocol must be tcp, udp or sctp",
                                           s);
                end = slash;
        }
        /* split from the right: CTR, then HOSTPORT, then HOSTIP */
        const char *c = end;
        while (c > s && c[-1] != ':')
                c--;
        cport = c;
        cplen = (size_t) (end - c);
        if (c > s) {
                const char *h = c - 1; /* at the ':' */
                const char *hp = h;
                if (s[0] == '[') {
                        const char *rb = memchr(s, ']', (size_t) (h - s));
                        if (!rb || rb[1] != ':')
                                return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': expected "
                                                   "[IPV6]:HOSTPORT:CTRPORT", s);
                        host = s + 1;
                        hlen = (size_t) (rb - host);
                        hport = rb + 2;
                        hplen = (size_t) (h - hport);
                } else {
                        while (hp > s && hp[-1] != ':')
                                hp--;
                        hport = hp;
                        hplen = (size_t) (h - hp);
                        if (hp > s) {
                                host = s;
                                hlen = (size_t) (hp - 1 - s);
                                if (memchr(host, ':', hlen))
                                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': put an IPv6 "
                                                           "host address in brackets, as [::1]:8080:80", s);
                        }
                }
        }
        if (host) {
                if (hlen == 0 || hlen >= sizeof(ipbuf))
                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': empty or long host address", s);
                memcpy(ipbuf, host, hlen);
                ipbuf[hlen] = 0;
                if (nd_addr_parse(ipbuf, &base.host_ip) < 0)
                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': '%s' is not an IP address", s,
                                           ipbuf);
        }
        int r = parse_range(cport, cplen, &clo, &chi);
        if (r < 0)
                return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': container port must be 1-65535 or a "
                                   "range N-M", s);
        if (hport && hplen > 0) {
                r = parse_range(hport, hplen, &hlo, &hhi);
                if (r < 0)
                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': host port must be 1-65535 or a "
                                           "range N-M", s);
                if (clo != chi && hhi - hlo != chi - clo)
                        return nd_diag_set(d, -EINVAL, "invalid port mapping '%.64s': host range %u-%u and container "
                                           "range %u-%u differ in size", s, hlo, hhi, clo, chi);
        }
        size_t count = chi - clo + 1;
        if (*n + count > ND_PORT_SPECS_MAX)
                return nd_diag_set(d, -E2BIG, "too many published ports (limit %d)", ND_PORT_SPECS_MAX);
        nd_port_spec *v = realloc(*specs, (*n + count) * sizeof(*v));
        if (!v)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *specs = v;
        for (unsigned p = clo; p <= chi; p++) {
                nd_port_spec *o = &v[(*n)++];
                *o = base;
                o->ctr = (uint16_t) p;
                if (hlo == 0)
                        continue;            /* dynamic */
                if (clo == chi) {            /* one port: any of the host range */
                        o->host_lo = (uint16_t) hlo;
                        o->host_hi = (uint16_t) hhi;
                } else
                        o->host_lo = o->host_hi = (uint16_t) (hlo + (p - clo));
        }
        return 0;
}

const char *nd_port_spec_fmt(const nd_port_spec *p, char buf[static ND_PORT_SPEC_STRLEN]) {
        char a[ND_ADDR_STRLEN], hp[16] = "";
        const char *ip = p->host_ip.family ? nd_addr_fmt(&p->host_ip, a) : NULL;
        bool v6 = p->host_ip.family == AF_INET6;

        if (p->host_lo == p->host_hi && p->host_lo)
                snprintf(hp, sizeof(hp), "%u", p->host_lo);
        else if (p->host_lo)
                snprintf(hp, sizeof(hp), "%u-%u", p->host_lo, p->host_hi);
        if (ip)
                snprintf(buf, ND_PORT_SPEC_STRLEN, "%s%s%s:%s:%u/%s", v6 ? "[" : "", ip, v6 ? "]" : "", hp,
                         p->ctr, nd_proto_name(p->proto));
        else if (*hp)
                snprintf(buf, ND_PORT_SPEC_STRLEN, "%s:%u/%s", hp, p->ctr, nd_proto_name(p->proto));
        else
                snprintf(buf, ND_PORT_SPEC_STRLEN, "%u/%s", p->ctr, nd_proto_name(p->proto));
        return buf;
}

bool nd_port_ip_unspecified(const nd_addr *a) {
        static const uint8_t zero[16];
        return a->family == 0 || memcmp(a->b, zero, nd_addr_bits(a->family) / 8) == 0;
}

bool nd_port_binding_clash(const nd_port_binding *a, const nd_port_binding *b) {
        if (a->proto != b->proto || a->host_port != b->host_port)
                return false;
        if (a->host_ip.family == 0 || b->host_ip.family == 0)
                return true;
        if (a->host_ip.family != b->host_ip.family)
                return false;
        return nd_port_ip_unspecified(&a->host_ip) || nd_port_ip_unspecified(&b->host_ip) ||
               nd_addr_equal(&a->host_ip, &b->host_ip);
}

json_t *nd_port_binding_to_json(const nd_port_binding *b) {
        char a[ND_ADDR_STRLEN];
        return json_pack("{s:s, s:s, s:i, s:i}", "Proto", nd_proto_name(b->proto), "HostIp",
                         b->host_ip.family ? nd_addr_fmt(&b->host_ip, a) : "", "HostPort", (int) b->host_port,
                         "ContainerPort", (int) b->ctr_port);
}

int nd_port_binding_from_json(const json_t *j, nd_port_binding *ret, nd_diag *d) {
        const char *proto = NULL, *ip = NULL;
        json_int_t hp = 0, cp = 0;
        nd_port_binding b = {0};

        if (json_unpack((json_t *) j, "{s:s, s:s, s:I, s:I}", "Proto", &proto, "HostIp", &ip, "HostPort", &hp,
                        "ContainerPort", &cp) < 0)
                return nd_diag_set(d, -EINVAL, "port binding needs Proto, HostIp, HostPort, ContainerPort");
        if (nd_proto_parse(proto, &b.proto) < 0)
                return nd_diag_set(d, -EINVAL, "port binding: bad protocol '%.16s'", proto);
        if (*ip && nd_addr_parse(ip, &b.host_ip) < 0)
                return nd_diag_set(d, -EINVAL, "port binding: bad host address '%.64s'", ip);
        if (hp < 1 || hp > 65535 || cp < 1 || cp > 65535)
                return nd_diag_set(d, -EINVAL, "port binding: ports must be 1-65535");
        b.host_port = (uint16_t) hp;
        b.ctr_port = (uint16_t) cp;
        *ret = b;
        return 0;
}

void nd_published_done(nd_published *p) {
        for (size_t i = 0; p->fds && i < 2 * p->n_bindings; i++)
                if (p->fds[i] >= 0)
                        close(p->fds[i]);
        free(p->fds);
        free(p->bindings);
        p->fds = NULL;
        p->bindings = NULL;
        p->n_bindings = 0;
}

bool nd_published_clash(const nd_published *p, const nd_port_binding *b) {
        for (size_t i = 0; i < p->n_bindings; i++)
                if (nd_port_binding_clash(&p->bindings[i], b))
                        return true;
        return false;
}

json_t *nd_published_to_json(const nd_published *p) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < p->n_bindings; i++)
                if (json_array_append_new(a, nd_port_binding_to_json(&p->bindings[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int nd_published_from_json(const json_t *arr, nd_published *p, nd_diag *d) {
        size_t i, n = json_array_size(arr);
        json_t *e;
        if (arr && !json_is_null(arr) && !json_is_array(arr))
                return nd_diag_set(d, -EINVAL, "port bindings must be an array");
        if (n > ND_PORT_SPECS_MAX)
                return nd_diag_set(d, -EINVAL, "too many port bindings");
        nd_published_done(p);
        if (n == 0)
                return 0;
        p->bindings = calloc(n, sizeof(*p->bindings));
        if (!p->bindings)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(arr, i, e) {
                int r = nd_port_binding_from_json(e, &p->bindings[i], d);
                if (r < 0) {
                        nd_published_done(p);
                        return r;
                }
                p->n_bindings++;
        }
        return 0;
}
