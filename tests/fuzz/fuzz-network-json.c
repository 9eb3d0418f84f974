/* SPDX-License-Identifier: Apache-2.0 */
/* API request / store record JSON -> network model.  Invariants: no crash,
 * and whatever is accepted survives to_json -> from_json unchanged. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "json-util.h"
#include "network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = NULL;
        nd_network_spec spec;
        nd_network *n = NULL, *m = NULL;
        nd_diag d = {0};

        if (size > 65536)
                return 0;
        if (nd_json_parse_object((const char *) data, size, &j, &d) < 0)
                return 0;
        /* as a stored record too */
        if (nd_network_from_json(j, &m, &d) == 0)
                m = nd_network_free(m);
        if (nd_network_spec_from_json(j, &spec, &d) == 0) {
                /* the manager fills a missing IPv4 subnet; the model must
                 * cope without one as well */
                if (nd_network_new(&spec, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 42,
                                   &n, &d) == 0) {
                        json_t *a = nd_network_to_json(n), *b;
                        assert(a);
                        assert(nd_network_from_json(a, &m, &d) == 0);
                        b = nd_network_to_json(m);
                        assert(json_equal(a, b));
                        json_decref(a);
                        json_decref(b);
                        nd_network_free(m);
                        nd_network_free(n);
                }
        }
        json_decref(j);
        return 0;
}
