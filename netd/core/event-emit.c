/* SPDX-License-Identifier: Apache-2.0 */
/* The core's events (events.h): what its services report, with the
 * attributes docs/observability.md lists for each. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "endpoint.h"
#include "events.h"
#include "log.h"
#include "manager-internal.h"
#include "network.h"
#include "nft.h"
#include "service.h"

nd_events *nd_manager_events(nd_manager *m) {
        return m->events;
}

void nd_manager_event(nd_manager *m, const char *type, const char *action, const char *id, const char *name,
                      json_t *attrs) {
        nd_events_emit(m->events, type, action, id, name, attrs, NULL);
}

static void set_addr(json_t *j, const char *key, const nd_addr *a) {
        char buf[ND_ADDR_STRLEN];
        if (a->family)
                json_object_set_new(j, key, json_string(nd_addr_fmt(a, buf)));
}

void nd_manager_event_endpoint(nd_manager *m, const char *action, int kind, const char *owner_id,
                               const char *owner_name, const nd_endpoint *e) {
        static const char *const kinds[_ND_EP_KIND_MAX] = { "container", "cni", "docker" };
        json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "network", e->net_name, "networkId", e->net_id, "container",
                              owner_id, "kind", kind >= 0 && kind < _ND_EP_KIND_MAX ? kinds[kind] : "other");
        if (a && owner_name && owner_name[0])
                json_object_set_new(a, "containerName", json_string(owner_name));
        if (a) {
                set_addr(a, "ipv4", &e->addr4);
                set_addr(a, "ipv6", &e->addr6);
        }
        nd_manager_event(m, "endpoint", action, owner_id, owner_name && owner_name[0] ? owner_name : NULL, a);
}

void nd_manager_event_network(nd_manager *m, const char *action, const nd_network *n) {
        nd_manager_event(m, "network", action, n->id, n->spec.name,
                         json_pack("{s:s, s:s}", "name", n->spec.name, "driver", nd_driver_to_string(n->spec.driver)));
}

void nd_manager_event_service(nd_manager *m, const char *action, const struct nd_service *rec, bool global) {
        if (strcmp(action, "update") != 0)
                nd_log(LOG_INFO, strcmp(action, "create") == 0 ? "service created" : "service removed",
                       "service=%s id=%.12s scope=%s", rec->name, rec->id, global ? "global" : "local");
        nd_manager_event(m, "service", action, rec->id, rec->name,
                         json_pack("{s:s, s:s}", "name", rec->name, "scope", global ? "global" : "local"));
}

void nd_manager_on_fw_repair(void *userdata, const char *by, int r) {
        nd_manager *m = userdata;
        nd_manager_event(m, "firewall", "repair", "inet/" ND_NFT_TABLE, NULL,
                         json_pack("{s:s, s:s}", "by", by && by[0] ? by : "unknown", "result",
                                   r < 0 ? "failed" : "restored"));
}

void nd_manager_on_cluster_event(void *userdata, const char *type, const char *action, const char *id,
                                 const char *name, json_t *attrs, const char *node) {
        nd_manager *m = userdata;
        nd_events_emit(m->events, type, action, id, name, attrs, node);
}
