/* SPDX-License-Identifier: Apache-2.0 */
/* Run/create requests -> nd_container_spec.  Invariants: no crash, no
 * leak, a refusal always says why, and an accepted spec holds only what
 * the service relies on (a non-empty Cmd, bounded lists, valid aliases,
 * absolute root filesystem, extra hosts that parse again, a valid service
 * name only with named networks). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "container-spec.h"
#include "diag.h"
#include "json-util.h"
#include "service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = NULL, *v;
        nd_container_spec s;
        nd_endpoint_req e;
        nd_diag d = {0};
        size_t i;

        if (size > 65536 || nd_json_parse_object((const char *) data, size, &j, &d) < 0)
                return 0;
        d.msg[0] = 0;
        if (nd_container_spec_parse(j, &s, &d) == 0) {
                assert(json_is_array(s.args) && json_array_size(s.args) > 0);
                assert(s.n_nets <= ND_MAX_ENDPOINTS && s.n_links <= ND_CT_MAX_LINKS);
                assert(!s.rootfs || !*s.rootfs || s.rootfs[0] == '/');
                assert(s.mode != ND_NET_MODE_CONTAINER || s.mode_target);
                assert(s.n_nets == 0 || s.mode == ND_NET_MODE_BRIDGE);
                assert(!s.service || (nd_service_name_valid(s.service) && s.mode == ND_NET_MODE_BRIDGE));
                for (i = 0; i < s.n_nets; i++)
                        assert(s.nets[i].network && s.nets[i].n_aliases <= ND_MAX_ALIASES);
                for (i = 0; i < s.n_links; i++)
                        assert(nd_name_valid(s.links[i].alias) == 0);
                json_array_foreach(s.extra_hosts, i, v) {
                        char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                        bool hg;
                        assert(nd_extra_host_parse(json_string_value(v), name, ip, &hg, &d) == 0);
                        assert(hg || *ip);
                }
        } else
                assert(d.msg[0]);
        nd_container_spec_done(&s);
        /* the same object as a connect request */
        d.msg[0] = 0;
        if (nd_endpoint_req_parse(j, &e, &d) < 0)
                assert(d.msg[0]);
        json_decref(j);
        return 0;
}
