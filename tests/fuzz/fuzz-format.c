/* SPDX-License-Identifier: Apache-2.0 */
/* netctl's --format templates (netd/ctl-format.h): the input is a
 * template, a newline, then the JSON value it renders (a network when that
 * part is not JSON).  Invariants: a refused template yields no object and a
 * message; a render yields either output or a message, never both.  The
 * JSON also goes through `netctl service ls`'s table (ctl-table.h), which
 * takes any array: one line per object and the header. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-format.h"
#include "ctl-table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char net[] =
        "{\"Name\":\"n\",\"Id\":\"ab\",\"Driver\":\"bridge\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.0.0.0/24\"}]},"
        "\"Containers\":{\"c1\":{\"Name\":\"a\"},\"c2\":{\"Name\":\"b\"}},\"N\":null,\"B\":true,\"F\":1.5}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s, *nl;
        nd_fmt *t = NULL;
        char err[256] = "", *out = NULL;

        if (size > ND_FMT_MAX_TEMPLATE * 2)
                return 0;
        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = 0;
        nl = strchr(s, '\n');
        if (nl)
                *nl = 0;
        json_t *v = nl ? json_loads(nl + 1, JSON_DECODE_ANY, NULL) : NULL;
        if (!v)
                v = json_loads(net, 0, NULL);
        if (nd_fmt_parse(s, &t, err, sizeof(err)) < 0) {
                assert(!t && err[0]);
        } else {
                err[0] = 0;
                int r = nd_fmt_render(t, v, &out, err, sizeof(err));
                assert(r == 0 ? out != NULL : (out == NULL && err[0]));
                free(out);
                nd_fmt_free(t);
        }
        if (nd_table_services(v, &out) == 0) {
                size_t lines = 0, objects = 0, i;
                json_t *e;
                for (const char *p = out; *p; p++)
                        lines += *p == '\n';
                json_array_foreach(v, i, e)
                        objects += json_is_object(e);
                assert(lines == objects + 1);
                free(out);
        } else
                assert(!json_is_array(v) && !out);
        /* service ps: one line per task object too, whatever the times */
        if (nd_table_service_tasks(v, (long long) size * 1000003 - 500000, &out) == 0) {
                size_t lines = 0, objects = 0, i;
                json_t *e;
                for (const char *p = out; *p; p++)
                        lines += *p == '\n';
                json_array_foreach(v, i, e)
                        objects += json_is_object(e);
                assert(lines == objects + 1);
                free(out);
        } else
                assert(!json_is_array(v) && !out);
        json_decref(v);
        free(s);
        return 0;
}
