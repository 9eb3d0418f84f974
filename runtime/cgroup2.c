/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v2 paths (cgroup2.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "cgroup2.h"

static int is_cgroup2(const char *path) {
        struct statfs s;
        return statfs(path, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

int nd_rt_cgroup2_root(char *buf, size_t size) {
        static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
        for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
                if (is_cgroup2(roots[i]))
                        return snprintf(buf, size, "%s", roots[i]) < (int) size ? 0 : -ENAMETOOLONG;
        return -ENOENT;
}

int nd_rt_cgroup2_dir(const char *id, char *buf, size_t size) {
        char root[64];
        int r = nd_rt_cgroup2_root(root, sizeof(root));
        if (r < 0)
                return r;
        return snprintf(buf, size, "%s/netd/%s", root, id) < (int) size ? 0 : -ENAMETOOLONG;
}

int nd_rt_cgroup2_make(const char *id, char *buf, size_t size) {
        char parent[96];
        int r = nd_rt_cgroup2_root(parent, sizeof(parent));
        if (r < 0)
                return r;
        snprintf(parent + strlen(parent), sizeof(parent) - strlen(parent), "/netd");
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                return -errno;
        if ((r = nd_rt_cgroup2_dir(id, buf, size)) < 0)
                return r;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}
