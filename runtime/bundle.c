/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "macro.h"

void nd_rt_bundle_path(const char *state_dir, const char *id, char *buf, size_t size) {
        snprintf(buf, size, "%s/containers/%s", state_dir, id);
}

static int write_text(const char *path, const char *text) {
        /* in place (O_TRUNC), not rename: the file is bind-mounted into a
         * running container, which keeps the old inode after a rename */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t) n)
                return -EIO;
        return 0;
}

static int write_in(const char *bundle, const char *name, const char *text) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/%s", bundle, name);
        return write_text(path, text);
}

int nd_rt_bundle_write_config(const char *state_dir, const nd_rt_bundle_config *cfg) {
        char dir[PATH_MAX], path[PATH_MAX + 32];
        json_t *j;
        int r;

        nd_rt_bundle_path(state_dir, cfg->id, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/containers", state_dir);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        j = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:I, s:I}", "Id", cfg->id, "Rootfs", cfg->rootfs, "NetNS",
                      cfg->netns, "Hostname", cfg->hostname, "Args", cfg->args, "Env", cfg->env, "Memory",
                      (json_int_t) cfg->memory, "PidsLimit", (json_int_t) cfg->pids_limit);
        if (j && cfg->security && json_object_update(j, (json_t *) cfg->security) < 0)
                json_decref(TAKE_PTR(j));
        if (j && cfg->deadline && json_object_set_new(j, "Deadline", json_string(cfg->deadline)) < 0)
                json_decref(TAKE_PTR(j));
        snprintf(path, sizeof(path), "%s/config.json", dir);
        r = j ? json_dump_file(j, path, JSON_INDENT(2)) : -1;
        json_decref(j);
        if (r < 0)
                return -EIO;
        char hn[128];
        snprintf(hn, sizeof(hn), "%s\n", cfg->hostname);
        return write_in(dir, "hostname", hn);
}

int nd_rt_bundle_write_hosts(const char *bundle, const nd_rt_host_entry *entries, size_t n) {
        char buf[8192];
        size_t o;

        o = (size_t) snprintf(buf, sizeof(buf), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (size_t i = 0; i < n && o < sizeof(buf); i++)
                o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%s\t%s\n", entries[i].ip, entries[i].names);
        return write_in(bundle, "hosts", buf);
}

int nd_rt_bundle_write_resolv_conf(const char *bundle, const char *text) {
        return write_in(bundle, "resolv.conf", text);
}

int nd_rt_bundle_status_read(const char *bundle, int *ret_exit_code, int64_t *ret_finished_s) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/status.json", bundle);
        _cleanup_(json_decrefp) json_t *j = json_load_file(path, 0, NULL);
        if (!j || !json_is_integer(json_object_get(j, "ExitCode")))
                return j ? -EBADMSG : -ENOENT;
        *ret_exit_code = (int) json_integer_value(json_object_get(j, "ExitCode"));
        *ret_finished_s = json_integer_value(json_object_get(j, "FinishedAt"));
        return 0;
}

void nd_rt_bundle_status_clear(const char *bundle) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/status.json", bundle);
        (void) unlink(path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int nd_rt_bundle_remove(const char *state_dir, const char *id) {
        char dir[PATH_MAX];
        nd_rt_bundle_path(state_dir, id, dir, sizeof(dir));
        if (nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

void nd_rt_cgroups_remove(const char *id) {
        static const char *const dirs[] = { "/sys/fs/cgroup/netd/%s", "/sys/fs/cgroup/memory/netd/%s",
                                            "/sys/fs/cgroup/pids/netd/%s", "/sys/fs/cgroup/devices/netd/%s",
                                            "/sys/fs/cgroup/unified/netd/%s" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), dirs[i], id);
                (void) rmdir(p);
        }
}
