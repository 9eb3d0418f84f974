/* SPDX-License-Identifier: Apache-2.0 */
/* The -p parser.  Invariants: every spec of a parse formats to text that
 * parses back to exactly that spec; ports are never 0; a failed parse adds
 * nothing and says why. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[160], f[ND_PORT_SPEC_STRLEN];
        nd_port_spec *v = NULL;
        size_t n = 0;
        nd_diag d = {0};

        if (size >= sizeof(s))
                return 0;
        memcpy(s, data, size);
        s[size] = 0;
        if (nd_port_spec_parse(s, &v, &n, &d) < 0) {
                assert(n == 0 && d.msg[0]);
                free(v);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                nd_port_spec *w = NULL;
                size_t m = 0;
                assert(v[i].ctr != 0);
                assert((v[i].host_lo == 0) == (v[i].host_hi == 0) && v[i].host_lo <= v[i].host_hi);
                assert(nd_port_spec_parse(nd_port_spec_fmt(&v[i], f), &w, &m, &d) == 0);
                assert(m == 1 && memcmp(&w[0], &v[i], sizeof(*w)) == 0);
                free(w);
        }
        free(v);
        return 0;
}
