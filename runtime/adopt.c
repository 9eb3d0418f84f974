/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adopt.h"
#include "bundle.h"
#include "log.h"
#include "macro.h"

/* /proc/PID/cmdline into @cmd (argv[0] NUL argv[1] ...): its length, or
 * -1 when there is no such process. */
static ssize_t cmdline_read(pid_t pid, char *cmd, size_t size) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        size_t k = fread(cmd, 1, size - 1, f);
        fclose(f);
        cmd[k] = 0;
        return (ssize_t) k;
}

bool nd_rt_monitor_of(const char *state_dir, const char *id, pid_t mon) {
        char cmd[PATH_MAX + 64], bundle[PATH_MAX];
        if (mon <= 0)
                return false;
        ssize_t k = cmdline_read(mon, cmd, sizeof(cmd));
        if (k < 0)
                return false;
        size_t l0 = strlen(cmd);
        nd_rt_bundle_path(state_dir, id, bundle, sizeof(bundle));
        return strstr(cmd, "netd-monitor") && l0 + 1 < (size_t) k && strcmp(cmd + l0 + 1, bundle) == 0;
}

int nd_rt_pids_read(const char *state_dir, const char *id, pid_t *ret_mon, pid_t *ret_pid, bool *ret_started) {
        char path[PATH_MAX];
        nd_rt_bundle_path(state_dir, id, path, sizeof(path));
        strncat(path, "/pid.json", sizeof(path) - strlen(path) - 1);
        _cleanup_(json_decrefp) json_t *j = json_load_file(path, 0, NULL);
        json_t *mon = json_object_get(j, "Monitor"), *pid = json_object_get(j, "Pid");
        if (!json_is_integer(mon) || !json_is_integer(pid) || json_integer_value(mon) <= 0 ||
            json_integer_value(pid) <= 0 || json_integer_value(mon) > INT32_MAX || json_integer_value(pid) > INT32_MAX)
                return j ? -EBADMSG : -ENOENT;
        *ret_mon = (pid_t) json_integer_value(mon);
        *ret_pid = (pid_t) json_integer_value(pid);
        *ret_started = json_is_true(json_object_get(j, "Started"));
        return 0;
}

nd_rt_adopt nd_rt_monitor_adopt(const char *state_dir, const char *id, pid_t *ret_mon, pid_t *ret_pid) {
        pid_t mon, pid;
        bool started;
        if (nd_rt_pids_read(state_dir, id, &mon, &pid, &started) < 0 || !nd_rt_monitor_of(state_dir, id, mon))
                return ND_RT_ADOPT_NONE;
        *ret_mon = mon;
        *ret_pid = pid;
        if (started)
                return ND_RT_ADOPT_RUNNING;
        /* the init is the monitor's child: mon is alive, so pid is ours */
        kill(pid, SIGKILL);
        kill(mon, SIGKILL);
        return ND_RT_ADOPT_STOPPED;
}

void nd_rt_monitors_stop_stray(const char *state_dir, bool (*keep)(const char *id, pid_t mon, void *userdata),
                               void *userdata) {
        char prefix[PATH_MAX];
        nd_rt_bundle_path(state_dir, "", prefix, sizeof(prefix));
        size_t plen = strlen(prefix);
        DIR *d = opendir("/proc");
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d))) {
                char cmd[PATH_MAX + 64];
                pid_t pid = (pid_t) atoi(de->d_name);
                if (pid <= 0)
                        continue;
                ssize_t k = cmdline_read(pid, cmd, sizeof(cmd));
                if (k < 0)
                        continue;
                size_t l0 = strlen(cmd);
                if (!strstr(cmd, "netd-monitor") || l0 + 1 >= (size_t) k || strncmp(cmd + l0 + 1, prefix, plen) != 0)
                        continue;
                const char *id = cmd + l0 + 1 + plen;
                if (keep(id, pid, userdata))
                        continue;
                kill(pid, SIGKILL);
                nd_log(LOG_WARNING, "stopped a monitor of a container netd does not hold as running", "id=%.12s pid=%d",
                       id, pid);
        }
        closedir(d);
}

void nd_rt_orphans_remove(const char *state_dir, bool (*keep)(const char *id, void *userdata),
                          void (*release)(const char *id, void *userdata), void *userdata) {
        char dir[PATH_MAX];
        nd_rt_bundle_path(state_dir, "", dir, sizeof(dir));
        DIR *d = opendir(dir);
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d))) {
                pid_t mon, pid;
                bool started;
                if (keep(de->d_name, userdata))
                        continue;
                if (nd_rt_pids_read(state_dir, de->d_name, &mon, &pid, &started) == 0 &&
                    nd_rt_monitor_of(state_dir, de->d_name, mon)) {
                        kill(pid, SIGKILL);
                        kill(mon, SIGKILL);
                }
                nd_rt_cgroups_remove(de->d_name);
                if (release)
                        release(de->d_name, userdata);
                int r = nd_rt_bundle_remove(state_dir, de->d_name);
                nd_log(r < 0 ? LOG_WARNING : LOG_INFO, "removed what a crashed create left", "id=%.12s err=%d",
                       de->d_name, r);
        }
        closedir(d);
}
