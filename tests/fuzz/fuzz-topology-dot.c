/* SPDX-License-Identifier: Apache-2.0 */
/* netctl topology's DOT renderer (netd/ctl/ctl-dot.h) over any JSON: the
 * daemon's document carries names from users and from other hosts'
 * records.  Invariants: a render yields either text or a message, never
 * both; a refused document is one that is not an object or has a list
 * that is not an array; the text's quoted strings all end on their line
 * and its braces and brackets balance outside them, so no string from
 * the document can end a label or open a statement. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dot-check.h"
#include "ctl-dot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lists_ok(const json_t *j) {
        static const char *const keys[] = { "Hosts", "Networks", "Endpoints", "Services" };
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const json_t *a = json_object_get(j, keys[i]);
                if (a && !json_is_array(a))
                        return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[256] = "", *out = NULL;
        json_t *j;

        if (size > 1 << 20)
                return 0;
        j = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
        if (!j)
                return 0;
        int r = nd_dot_render(j, &out, err, sizeof(err));
        if (r == 0) {
                assert(out && json_is_object(j) && lists_ok(j));
                assert(dot_well_formed(out));
        } else {
                assert(!out && err[0]);
                assert(r == -ENOMEM || !json_is_object(j) || !lists_ok(j));
        }
        free(out);
        json_decref(j);
        return 0;
}
