/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl topology: GET /v1/topology, printed as Graphviz DOT (the
 * default, for `| dot -Tsvg`; ctl-dot.h draws it) or as the JSON
 * document itself (--format json, for scripts).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-dot.h"
#include "ctl.h"
#include "json-util.h"

static const char topology_usage[] =
        "Usage: netctl topology [--format dot|json]\n"
        "\n"
        "The cluster at a glance, as this host knows it: hosts (live or not),\n"
        "networks (bridges and overlays, subnets), endpoints (containers, CNI pods,\n"
        "Docker endpoints, services' SNAT addresses; other hosts' endpoints on\n"
        "overlay networks) with their addresses and published ports, and services\n"
        "with their VIPs and tasks.\n"
        "\n"
        "Options:\n"
        "  -f, --format FORMAT   dot (default): Graphviz DOT, one cluster per host,\n"
        "                        e.g. 'netctl topology | dot -Tsvg >cluster.svg';\n"
        "                        json: the document of GET /v1/topology (docs/api.md)\n";

int ctl_topology(int argc, char **argv) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_json_ json_t *reply = NULL;
        bool json = false;
        char err[256] = "", *dot = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1)
                switch (c) {
                case 'f':
                        if (strcmp(optarg, "json") == 0)
                                json = true;
                        else if (strcmp(optarg, "dot") == 0)
                                json = false;
                        else {
                                fprintf(stderr, "netctl: topology --format must be 'dot' or 'json', not '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'h': fputs(topology_usage, stdout); return 0;
                default: fputs(topology_usage, stderr); return 2;
                }
        if (optind != argc) {
                fputs(topology_usage, stderr);
                return 2;
        }
        long st = call("GET", "/v1/topology", NULL, &reply);
        if (st != 200)
                return fail(st, reply, "topology");
        if (json) {
                print_json(reply);
                return 0;
        }
        if (nd_dot_render(reply, &dot, err, sizeof(err)) < 0) {
                fprintf(stderr, "netctl: topology: %s\n", err);
                return 1;
        }
        fputs(dot, stdout);
        free(dot);
        return 0;
}
