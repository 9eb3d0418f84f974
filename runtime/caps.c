/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "caps.h"
#include "diag.h"

/* linux/capability.h numbering */
static const char *const cap_names[ND_CAP_LAST + 1] = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

/* moby's oci/caps/defaults.go */
static const unsigned default_caps[] = { 0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 4 /* FSETID */, 3 /* FOWNER */,
                                         27 /* MKNOD */, 13 /* NET_RAW */, 6 /* SETGID */, 7 /* SETUID */,
                                         31 /* SETFCAP */, 8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */,
                                         18 /* SYS_CHROOT */, 5 /* KILL */, 29 /* AUDIT_WRITE */ };

uint64_t nd_caps_default(void) {
        uint64_t m = 0;
        for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
                m |= UINT64_C(1) << default_caps[i];
        return m;
}

uint64_t nd_caps_all(void) {
        return (UINT64_C(1) << (ND_CAP_LAST + 1)) - 1;
}

const char *nd_cap_to_name(unsigned cap) {
        return cap <= ND_CAP_LAST ? cap_names[cap] : NULL;
}

int nd_cap_normalize(const char *name, char ret[ND_CAP_NAME_MAX], struct nd_diag *d) {
        char up[ND_CAP_NAME_MAX];
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n >= sizeof(up))
                return nd_diag_set(d, -EINVAL, "unknown capability '%.40s'", name ? name : "");
        for (size_t i = 0; i <= n; i++)
                up[i] = (char) toupper((unsigned char) name[i]);
        if (strcmp(up, "ALL") == 0) {
                strcpy(ret, "ALL");
                return ND_CAP_ALL;
        }
        const char *bare = strncmp(up, "CAP_", 4) == 0 ? up + 4 : up;
        for (unsigned i = 0; i <= ND_CAP_LAST; i++)
                if (strcmp(cap_names[i] + 4, bare) == 0) {
                        strcpy(ret, cap_names[i]);
                        return (int) i;
                }
        return nd_diag_set(d, -EINVAL, "unknown capability '%s'", name);
}

static int mask_of(const char *const *names, size_t n, uint64_t *mask, bool *all, struct nd_diag *d) {
        char buf[ND_CAP_NAME_MAX];
        *mask = 0;
        *all = false;
        for (size_t i = 0; i < n; i++) {
                int r = nd_cap_normalize(names[i], buf, d);
                if (r < 0)
                        return r;
                if (r == ND_CAP_ALL)
                        *all = true;
                else
                        *mask |= UINT64_C(1) << r;
        }
        return 0;
}

int nd_caps_effective(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
                      bool privileged, uint64_t *ret, struct nd_diag *d) {
        uint64_t a, dr;
        bool add_all, drop_all;
        int r;

        if ((r = mask_of(add, n_add, &a, &add_all, d)) < 0 || (r = mask_of(drop, n_drop, &dr, &drop_all, d)) < 0)
                return r;
        if (privileged)
                *ret = nd_caps_all();
        else if (add_all)
                *ret = nd_caps_all() & ~dr;
        else if (drop_all)
                *ret = a;
        else
                *ret = (nd_caps_default() & ~dr) | a;
        return 0;
}
