/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's network and IPAM plugin protocol (libnetwork's remote driver,
 * https://github.com/moby/moby/blob/master/libnetwork/docs/remote.md and
 * ipam.md) on --docker-plugin-socket.  dockerd finds the plugin by its
 * socket, /run/docker/plugins/netd.sock, and POSTs JSON to
 * /Plugin.Activate, /NetworkDriver.* and /IpamDriver.*; errors are
 * {"Err": "..."} with a 4xx/5xx status.
 *
 * This file only translates: it routes a call, reads its JSON (the pure
 * parts through docker-proto.h), hands the values to core/docker.h, which
 * owns pools, networks and endpoints (the mapping onto netd is described
 * there), and answers in the protocol's shape when the core reports.
 * Requests on an endpoint while another is in flight on it get 409:
 * dockerd serialises them anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "diag.h"
#include "docker-plugin.h"
#include "docker-proto.h"
#include "docker.h"
#include "http.h"
#include "json-util.h"
#include "log.h"
#include "mac.h"

#define OPT_GATEWAY "com.docker.network.gateway"
#define OPT_PORTMAP "com.docker.network.portmap"
#define OPT_GENERIC "com.docker.network.generic"

/* ---- replies ---- */

static void reply_ok(nd_http_request *req, json_t *j) {
        nd_http_reply_json(req, 200, j ? j : json_object());
}

static void reply_err(nd_http_request *req, int r, const nd_diag *d) {
        unsigned status = nd_api_status(r);
        const char *msg = d && d->msg[0] ? d->msg : strerror(r < 0 ? -r : EIO);
        /* dockerd often logs a driver's error and goes on: say it here too */
        nd_log(LOG_WARNING, "docker plugin call refused", "call=%s err=\"%s\"", nd_http_request_path(req), msg);
        nd_http_reply_json(req, status == 500 || status < 400 ? 500 : status, json_pack("{s:s}", "Err", msg));
}

/* nd_docker_done_fn for calls answered with {} */
static void on_done(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        if (r < 0)
                reply_err(userdata, r, d);
        else
                reply_ok(userdata, NULL);
}

static void on_pool(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        char a[ND_PREFIX_STRLEN];
        if (r < 0)
                return reply_err(userdata, r, d);
        reply_ok(userdata, json_pack("{s:s, s:s, s:{}}", "PoolID", res->pool_id, "Pool", nd_prefix_fmt(&res->pool, a),
                                     "Data"));
}

static void on_address(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        char s[ND_PREFIX_STRLEN];
        if (r < 0)
                return reply_err(userdata, r, d);
        reply_ok(userdata, json_pack("{s:s, s:{}}", "Address", nd_docker_cidr_fmt(&res->addr, res->plen, s), "Data"));
}

/* What netd chose for the endpoint (what Docker gave is not repeated). */
static void on_endpoint(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        char ms[18], s[ND_PREFIX_STRLEN];
        if (r < 0)
                return reply_err(userdata, r, d);
        json_t *rif = json_object();
        if (res->mac_chosen)
                json_object_set_new(rif, "MacAddress", json_string(nd_mac_fmt(res->mac, ms)));
        if (res->addr.family)
                json_object_set_new(rif, "Address", json_string(nd_docker_cidr_fmt(&res->addr, res->plen, s)));
        reply_ok(userdata, json_pack("{s:o}", "Interface", rif));
}

static void on_join(void *userdata, int r, const nd_diag *d, const nd_docker_result *res) {
        if (r < 0)
                return reply_err(userdata, r, d);
        /* no gateway on an internal network: no default route through it */
        reply_ok(userdata, json_pack("{s:{s:s, s:s}, s:s, s:s, s:b}", "InterfaceName", "SrcName", res->peer_if,
                                     "DstPrefix", "eth", "Gateway", res->gw4, "GatewayIPv6", res->gw6,
                                     "DisableGatewayService", 0));
}

/* ---- IPAM ---- */

static void ipam_caps(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0));
}

static void ipam_spaces(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", ND_DOCKER_SPACE_LOCAL,
                                "GlobalDefaultAddressSpace", ND_DOCKER_SPACE_GLOBAL));
}

static void request_pool(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *space = NULL;
        nd_docker_pool_req rq = {
                .network = json_string_value(json_object_get(json_object_get(body, "Options"), ND_DOCKER_OPT_NETWORK)),
        };
        nd_diag d = {0};
        int r;

        if ((r = nd_json_string(body, "AddressSpace", "RequestPool", &space, &d)) < 0 ||
            (r = nd_json_string(body, "Pool", "RequestPool", &rq.pool, &d)) < 0 ||
            (r = nd_json_string(body, "SubPool", "RequestPool", &rq.sub, &d)) < 0 ||
            (r = nd_json_bool(body, "V6", "RequestPool", &rq.v6, &d)) < 0)
                return reply_err(req, r, &d);
        if (space && *space && strcmp(space, ND_DOCKER_SPACE_LOCAL) && strcmp(space, ND_DOCKER_SPACE_GLOBAL))
                return reply_err(req, -EINVAL, &(nd_diag) { "unknown address space (netd has " ND_DOCKER_SPACE_LOCAL
                                                            " and " ND_DOCKER_SPACE_GLOBAL ")" });
        nd_docker_pool_request(m, &rq, on_pool, req);
}

static void release_pool(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_pool_release(m, json_string_value(json_object_get(body, "PoolID")), on_done, req);
}

static void request_address(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *type = json_string_value(json_object_get(json_object_get(body, "Options"), "RequestAddressType"));
        nd_docker_address_request(m, json_string_value(json_object_get(body, "PoolID")),
                                  json_string_value(json_object_get(body, "Address")),
                                  type && strcmp(type, OPT_GATEWAY) == 0, on_address, req);
}

static void release_address(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_address_release(m, json_string_value(json_object_get(body, "PoolID")),
                                  json_string_value(json_object_get(body, "Address")), on_done, req);
}

/* ---- networks ---- */

static void create_network(nd_manager *m, nd_http_request *req, json_t *body) {
        json_t *opts = json_object_get(body, "Options");
        const json_t *generic = json_object_get(opts, OPT_GENERIC);
        nd_docker_ipdata *v4 = NULL, *v6 = NULL;
        size_t n_v4 = 0, n_v6 = 0;

        if (nd_docker_ipdata_parse(json_object_get(body, "IPv4Data"), &v4, &n_v4) < 0 ||
            nd_docker_ipdata_parse(json_object_get(body, "IPv6Data"), &v6, &n_v6) < 0) {
                free(v4);
                return reply_err(req, -ENOMEM, NULL);
        }
        nd_docker_net_req rq = {
                .id = json_string_value(json_object_get(body, "NetworkID")),
                .network = json_string_value(json_object_get(generic, ND_DOCKER_OPT_NETWORK)),
                .generic = generic,
                .internal = json_is_true(json_object_get(opts, "com.docker.network.internal")),
                .v4 = v4, .n_v4 = n_v4, .v6 = v6, .n_v6 = n_v6,
        };
        nd_docker_network_create(m, &rq, on_done, req);
        free(v4);
        free(v6);
}

static void delete_network(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_network_delete(m, json_string_value(json_object_get(body, "NetworkID")), on_done, req);
}

/* ---- endpoints ---- */

static const char *endpoint_id(const json_t *body) {
        return json_string_value(json_object_get(body, "EndpointID"));
}

static void create_endpoint(nd_manager *m, nd_http_request *req, json_t *body) {
        json_t *iface = json_object_get(body, "Interface");
        nd_docker_ep_req rq = {
                .id = endpoint_id(body),
                .network = json_string_value(json_object_get(body, "NetworkID")),
                .address = json_string_value(json_object_get(iface, "Address")),
                .address6 = json_string_value(json_object_get(iface, "AddressIPv6")),
                .mac = json_string_value(json_object_get(iface, "MacAddress")),
        };
        nd_docker_endpoint_create(m, &rq, on_endpoint, req);
}

static void delete_endpoint(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_endpoint_delete(m, endpoint_id(body), on_done, req);
}

static void endpoint_info(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_ep_info info;
        char mac[18];
        if (nd_docker_endpoint_info(m, endpoint_id(body), &info) < 0)
                return reply_err(req, -ENOENT, &(nd_diag) { "endpoint not found" });
        reply_ok(req, json_pack("{s:{s:s, s:s, s:s, s:o}}", "Value", "HostIfName", info.host_if, "MacAddress",
                                nd_mac_fmt(info.mac, mac), "NetdNetwork", info.net_id, OPT_PORTMAP,
                                nd_docker_portmap_to_json(info.pub)));
}

static void join(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_endpoint_join(m, endpoint_id(body), on_join, req);
}

static void leave(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_endpoint_leave(m, endpoint_id(body), on_done, req);
}

static void program_external(nd_manager *m, nd_http_request *req, json_t *body) {
        json_t *pm = json_object_get(json_object_get(body, "Options"), OPT_PORTMAP);
        const char *id = endpoint_id(body);
        nd_port_spec *specs;
        size_t n_specs;
        nd_diag d = {0};
        int r;

        /* the endpoint's state is reported before the port map's errors */
        if ((r = nd_docker_endpoint_ready(m, id, &d)) < 0 ||
            (r = nd_docker_portmap_parse(pm, &specs, &n_specs, &d)) < 0)
                return reply_err(req, r, &d);
        nd_docker_endpoint_publish(m, id, specs, n_specs, on_done, req);
        free(specs);
}

static void revoke_external(nd_manager *m, nd_http_request *req, json_t *body) {
        nd_docker_endpoint_unpublish(m, endpoint_id(body), on_done, req);
}

/* ---- the protocol ---- */

static void activate(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:[ss]}", "Implements", "NetworkDriver", "IpamDriver"));
}

static void net_caps(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "local"));
}

static void nothing(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, NULL);
}

static void swarm_only(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_err(req, -EOPNOTSUPP, &(nd_diag) { "netd's Docker networks are local to each host: swarm network "
                  "allocation is not supported (use netd's overlay networks)" });
}

static const struct {
        const char *path;
        void (*fn)(nd_manager *m, nd_http_request *req, json_t *body);
} routes[] = {
        { "/Plugin.Activate", activate },
        { "/NetworkDriver.GetCapabilities", net_caps },
        { "/NetworkDriver.CreateNetwork", create_network },
        { "/NetworkDriver.DeleteNetwork", delete_network },
        { "/NetworkDriver.CreateEndpoint", create_endpoint },
        { "/NetworkDriver.DeleteEndpoint", delete_endpoint },
        { "/NetworkDriver.EndpointOperInfo", endpoint_info },
        { "/NetworkDriver.Join", join },
        { "/NetworkDriver.Leave", leave },
        { "/NetworkDriver.DiscoverNew", nothing },
        { "/NetworkDriver.DiscoverDelete", nothing },
        { "/NetworkDriver.ProgramExternalConnectivity", program_external },
        { "/NetworkDriver.RevokeExternalConnectivity", revoke_external },
        { "/NetworkDriver.AllocateNetwork", swarm_only },
        { "/NetworkDriver.FreeNetwork", swarm_only },
        { "/IpamDriver.GetCapabilities", ipam_caps },
        { "/IpamDriver.GetDefaultAddressSpaces", ipam_spaces },
        { "/IpamDriver.RequestPool", request_pool },
        { "/IpamDriver.ReleasePool", release_pool },
        { "/IpamDriver.RequestAddress", request_address },
        { "/IpamDriver.ReleaseAddress", release_address },
};

void nd_docker_plugin_handle(nd_http_request *req, void *userdata) {
        nd_manager *m = userdata;
        const char *path = nd_http_request_path(req);
        size_t len;
        const char *text = nd_http_request_body(req, &len);
        json_t *body = NULL;
        nd_diag d = {0};

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (strcmp(path, routes[i].path) != 0)
                        continue;
                if (strcmp(nd_http_request_method(req), "POST") != 0)
                        return reply_err(req, -EINVAL, &(nd_diag) { "plugin calls are POST requests" });
                /* an empty body (Plugin.Activate, GetCapabilities) and
                 * "null" are {} */
                if (len == 0 || (len == 4 && memcmp(text, "null", 4) == 0))
                        body = json_object();
                else {
                        int r = nd_json_parse_object(text, len, &body, &d);
                        if (r < 0)
                                return reply_err(req, r, &d);
                }
                if (!body)
                        return reply_err(req, -ENOMEM, NULL);
                routes[i].fn(m, req, body);
                json_decref(body);
                return;
        }
        nd_diag_set(&d, -ENOENT, "%.64s: not a method of netd's Docker plugin (NetworkDriver, IpamDriver)", path);
        nd_http_reply_json(req, 404, json_pack("{s:s}", "Err", d.msg));
}

