/* SPDX-License-Identifier: Apache-2.0 */
/* Container store records -> model.  Invariants: no crash, and an accepted
 * record survives to_json -> from_json unchanged. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "diag.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *j = NULL;
        nd_container *c = NULL, *k = NULL;
        nd_diag d = {0};

        if (size > 65536 || nd_json_parse_object((const char *) data, size, &j, &d) < 0)
                return 0;
        if (nd_container_from_json(j, &c, &d) == 0) {
                json_t *a = nd_container_to_json(c), *b;
                assert(a);
                assert(nd_container_from_json(a, &k, &d) == 0);
                b = nd_container_to_json(k);
                assert(json_equal(a, b));
                json_decref(a);
                json_decref(b);
                nd_container_free(k);
                nd_container_free(c);
        }
        json_decref(j);
        return 0;
}
