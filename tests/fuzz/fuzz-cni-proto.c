/* SPDX-License-Identifier: Apache-2.0 */
/* netd-cni's input: the network configuration on stdin and the CNI_*
 * environment.  Input: CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME,
 * CNI_NETNS and CNI_ARGS, each ended by a NUL, then the configuration.
 * Invariants: a failure is one of the CNI error codes netd-cni documents,
 * with a message; a success for a container command names a request path
 * of exactly /v1/sandboxes/CID/IFNAME (a CHECK adds ?check=1) and, for
 * ADD, a body with the container's identity. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cni-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[8192];
        const char *f[5] = {0};
        size_t off = 0;

        if (size >= sizeof(buf))
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        for (int i = 0; i < 5 && off < size; i++) {
                f[i] = buf + off;
                off += strlen(buf + off) + 1;
        }
        if (off > size)
                off = size;
        nd_cni_env env = { .command = f[0], .containerid = f[1], .ifname = f[2], .netns = f[3], .args = f[4] };
        nd_cni_call c;
        nd_cni_error e;
        int r = nd_cni_parse(buf + off, size - off, &env, &c, &e);
        if (r != 0) {
                assert(r == e.code && (r == 1 || r == 4 || r == 6 || r == 7) && e.msg && e.msg[0]);
                assert(!c.body);
                nd_cni_call_done(&c);
                return 0;
        }
        assert(c.cmd >= 0 && c.cmd < _ND_CNI_CMD_MAX);
        if (c.cmd != ND_CNI_VERSION) {
                assert(c.version && nd_cni_version_ok(c.version) && c.socket && json_is_object(c.conf));
        }
        if (c.cmd == ND_CNI_ADD || c.cmd == ND_CNI_DEL || c.cmd == ND_CNI_CHECK) {
                size_t slashes = 0;
                for (const char *p = c.path; *p; p++)
                        slashes += *p == '/';
                assert(strncmp(c.path, "/v1/sandboxes/", 14) == 0 && slashes == 4);
                const char *q = strchr(c.path, '?');
                assert(c.cmd == ND_CNI_CHECK ? q && strcmp(q, "?check=1") == 0 : !q);
                assert(!strstr(c.path, "/../") && !strstr(c.path, "/./") && !strchr(c.path, '#'));
        }
        if (c.cmd == ND_CNI_ADD) {
                assert(json_is_object(c.body));
                assert(json_string_value(json_object_get(c.body, "ContainerID")));
                assert(json_string_value(json_object_get(c.body, "Netns")));
                assert(json_string_value(json_object_get(c.body, "Network")));
        } else
                assert(!c.body);
        nd_cni_call_done(&c);
        return 0;
}
