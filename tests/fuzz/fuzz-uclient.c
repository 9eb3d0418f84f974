/* SPDX-License-Identifier: Apache-2.0 */
/* The clients' HTTP response parser (nd_uclient_parse): whatever a peer on
 * the daemon's socket sends.  Input: the first byte picks the body limit
 * (0..255 bytes, or 64 KiB when 255), the rest is the response.
 * Invariants: the result is complete, needs-more, malformed or too large,
 * nothing else; a complete response has a final status, a body within the
 * limit and NUL-terminated; and what is complete stays the same response
 * when the peer then closes.  The same bytes through the incremental
 * chunk decoder (nd_uclient_dechunk_feed), whole and split in two at a
 * point the first byte picks: the same result and the same data, never
 * more data than input. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        nd_uclient_response a, b;
        size_t max;
        int r;

        if (size < 1)
                return 0;
        max = data[0] == 255 ? 65536 : data[0];
        const char *buf = (const char *) data + 1;
        size--;
        for (int eof = 0; eof < 2; eof++) {
                r = nd_uclient_parse(buf, size, eof, max, &a);
                assert(r == 1 || r == 0 || r == -EPROTO || r == -EFBIG || r == -ENOMEM);
                assert(!(eof && r == 0));
                if (r != 1)
                        continue;
                assert(a.status >= 200 && a.status <= 599);
                assert(a.body_len <= max);
                assert(a.body[a.body_len] == 0);
                if (!eof) {
                        assert(nd_uclient_parse(buf, size, true, max, &b) == 1);
                        assert(b.status == a.status && b.body_len == a.body_len);
                        assert(memcmp(a.body, b.body, a.body_len) == 0);
                        nd_uclient_response_done(&b);
                }
                nd_uclient_response_done(&a);
        }

        char *o1 = malloc(size + 1), *o2 = malloc(size + 1);
        if (!o1 || !o2) {
                free(o1);
                free(o2);
                return 0;
        }
        nd_uclient_dechunk d1 = {0}, d2 = {0};
        size_t n1, u1, n2a, u2a, n2b = 0, u2b = 0, cut = size ? data[0] % (size + 1) : 0;
        int r1 = nd_uclient_dechunk_feed(&d1, buf, size, o1, &n1, &u1);
        assert(r1 == 1 || r1 == 0 || r1 == -EPROTO || r1 == -EFBIG);
        assert(n1 <= u1 && u1 <= size);
        int r2 = nd_uclient_dechunk_feed(&d2, buf, cut, o2, &n2a, &u2a);
        if (r2 == 0) {
                assert(u2a == cut);
                r2 = nd_uclient_dechunk_feed(&d2, buf + cut, size - cut, o2 + n2a, &n2b, &u2b);
        }
        if (r1 >= 0 && r2 >= 0) {
                assert(r1 == r2);
                assert(n1 == n2a + n2b && memcmp(o1, o2, n1) == 0);
        } else
                assert(r1 < 0 && r2 < 0);
        free(o1);
        free(o2);
        return 0;
}
