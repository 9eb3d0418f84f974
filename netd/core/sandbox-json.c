/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An external sandbox's record (sandboxes.c): its JSON both ways, and
 * the checks of the values a record or an ADD carries.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "mac.h"
#include "macro.h"
#include "manager-internal.h"
#include "sandbox-internal.h"
#include "service.h"

bool nd_sbx_cid_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n <= CID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n &&
               s[0] != '.';
}

bool nd_sbx_ifname_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n < 16 && strcmp(s, ".") && strcmp(s, "..") && !strpbrk(s, "/: \t\n");
}

json_t *nd_sandbox_to_json(const nd_sbx *s) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], g4[ND_ADDR_STRLEN], g6[ND_ADDR_STRLEN], mac[18];
        const nd_endpoint *e = &s->ep;
        nd_mac_fmt(e->mac, mac);
        json_t *al = json_array();
        for (size_t i = 0; i < e->n_aliases; i++)
                json_array_append_new(al, json_string(e->aliases[i]));
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:s, s:o}", "ContainerID", s->cid,
                         "IfName", e->ifname, "Netns", s->netns, "Network", e->net_id, "NetworkName", e->net_name,
                         "HostIfName", e->host_ifname, "MacAddress", mac, "IPv4Address",
                         e->addr4.family ? nd_addr_fmt(&e->addr4, a4) : "", "IPv4PrefixLen", (int) e->plen4,
                         "IPv4Gateway", e->gw4.family ? nd_addr_fmt(&e->gw4, g4) : "", "IPv6Address",
                         e->addr6.family ? nd_addr_fmt(&e->addr6, a6) : "", "IPv6PrefixLen", (int) e->plen6,
                         "IPv6Gateway", e->gw6.family ? nd_addr_fmt(&e->gw6, g6) : "", "Name", s->name, "Aliases", al);
        if (j) {
                json_object_set_new(j, "PortBindings", nd_published_to_json(&s->pub));
                json_object_set_new(j, "Service", json_string(s->service));
                json_t *dns = json_array();
                for (size_t i = 0; i < s->n_dns; i++) {
                        char a[ND_ADDR_STRLEN];
                        json_array_append_new(dns, json_string(nd_addr_fmt(&s->dns[i], a)));
                }
                json_object_set_new(j, "DnsServers", dns);
                json_object_set_new(j, "DnsServersOwn", json_boolean(s->dns_own));
        }
        return j;
}

int nd_sbx_from_json(const json_t *j, nd_sbx **ret) {
        const char *cid = json_string_value(json_object_get(j, "ContainerID"));
        const char *ifn = json_string_value(json_object_get(j, "IfName"));
        const char *ns = json_string_value(json_object_get(j, "Netns"));
        const char *net = json_string_value(json_object_get(j, "Network"));
        const char *nn = json_string_value(json_object_get(j, "NetworkName"));
        const char *hi = json_string_value(json_object_get(j, "HostIfName"));
        const char *mac = json_string_value(json_object_get(j, "MacAddress"));
        const char *name = json_string_value(json_object_get(j, "Name"));
        const char *svc = json_string_value(json_object_get(j, "Service"));
        uint8_t b[6];
        if (!nd_sbx_cid_valid(cid) || !nd_sbx_ifname_valid(ifn) || !ns || strlen(ns) >= PATH_MAX || !nd_id_valid(net) ||
            !nn || strlen(nn) > ND_NAME_MAX || !nd_sbx_ifname_valid(hi) || !mac || nd_mac_parse(mac, b) < 0 ||
            (name && strlen(name) > ND_NAME_MAX) || (svc && *svc && !nd_service_name_valid(svc)))
                return -EINVAL;
        _cleanup_free_ nd_sbx *s = calloc(1, sizeof(*s) + strlen(ns) + 1);
        if (!s)
                return -ENOMEM;
        snprintf(s->cid, sizeof(s->cid), "%s", cid);
        strcpy(s->netns, ns);
        snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
        snprintf(s->service, sizeof(s->service), "%s", svc ? svc : "");
        nd_endpoint *e = &s->ep;
        snprintf(e->ifname, sizeof(e->ifname), "%s", ifn);
        snprintf(e->host_ifname, sizeof(e->host_ifname), "%s", hi);
        snprintf(e->net_id, sizeof(e->net_id), "%s", net);
        snprintf(e->net_name, sizeof(e->net_name), "%s", nn);
        memcpy(e->mac, b, 6);
        static const char *const fields[4] = { "IPv4Address", "IPv4Gateway", "IPv6Address", "IPv6Gateway" };
        nd_addr *dst[4] = { &e->addr4, &e->gw4, &e->addr6, &e->gw6 };
        for (int i = 0; i < 4; i++) {
                const char *v = json_string_value(json_object_get(j, fields[i]));
                if (v && *v && nd_addr_parse(v, dst[i]) < 0)
                        return -EINVAL;
        }
        e->plen4 = (unsigned) json_integer_value(json_object_get(j, "IPv4PrefixLen"));
        e->plen6 = (unsigned) json_integer_value(json_object_get(j, "IPv6PrefixLen"));
        if (nd_published_from_json(json_object_get(j, "PortBindings"), &s->pub, NULL) < 0 ||
            nd_sandbox_dns_parse(json_object_get(j, "DnsServers"), s->dns, &s->n_dns, NULL) < 0)
                return -EINVAL;
        s->dns_own = json_is_true(json_object_get(j, "DnsServersOwn"));
        nd_aliases_from_json(json_object_get(j, "Aliases"), e->aliases, &e->n_aliases);
        *ret = TAKE_PTR(s);
        return 0;
}
