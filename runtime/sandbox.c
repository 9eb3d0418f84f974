/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "caps.h"
#include "sandbox.h"

/* moby's oci/defaults.go */
static const char *const masked_paths[] = {
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

int nd_sandbox_mask_paths(const char *root, char *err, size_t errsz) {
        char p[4096];
        struct stat st;

        for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
                snprintf(p, sizeof(p), "%s%s", root, masked_paths[i]);
                if (stat(p, &st) < 0)
                        continue; /* not on this kernel */
                int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                                    "size=0,mode=0555")
                                            : mount("/dev/null", p, NULL, MS_BIND, NULL);
                if (r < 0)
                        return snprintf(err, errsz, "masking %s: %s", masked_paths[i], strerror(errno)), -errno;
        }
        for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++) {
                snprintf(p, sizeof(p), "%s%s", root, readonly_paths[i]);
                if (stat(p, &st) < 0)
                        continue;
                /* a bind mount's flags change only with a remount of the bind */
                if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return snprintf(err, errsz, "read-only %s: %s", readonly_paths[i], strerror(errno)), -errno;
        }
        return 0;
}

static int last_cap(void) {
        char buf[16] = "";
        int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (k > 0)
                        return atoi(buf);
        }
        return ND_CAP_LAST;
}

uint64_t nd_sandbox_caps_bounding(void) {
        uint64_t m = 0;
        int last = last_cap();
        for (int c = 0; c <= last && c < 64; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
                        m |= UINT64_C(1) << c;
        return m;
}

int nd_sandbox_caps_apply(uint64_t caps, char *err, size_t errsz) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};
        int last = last_cap();

        /* the bounding set first: dropping from it needs CAP_SETPCAP,
         * which the capset below may take away */
        for (int c = 0; c <= last && c < 64; c++)
                if (!(caps & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        return snprintf(err, errsz, "dropping capability %d from the bounding set: %s", c,
                                        strerror(errno)), -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return snprintf(err, errsz, "clearing ambient capabilities: %s", strerror(errno)), -errno;
        for (int i = 0; i < 2; i++)
                data[i].effective = data[i].permitted = data[i].inheritable = (uint32_t) (caps >> (32 * i));
        if (syscall(SYS_capset, &h, data) < 0)
                return snprintf(err, errsz, "capset: %s", strerror(errno)), -errno;
        return 0;
}

static uint32_t scmp_action(nd_sc_action a, int errno_ret) {
        switch (a) {
        case ND_SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
        case ND_SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
        case ND_SC_TRAP: return SCMP_ACT_TRAP;
        case ND_SC_ERRNO: return SCMP_ACT_ERRNO((uint32_t) errno_ret);
        case ND_SC_TRACE: return SCMP_ACT_TRACE((uint32_t) errno_ret);
        case ND_SC_LOG: return SCMP_ACT_LOG;
        default: return SCMP_ACT_ALLOW;
        }
}

static const enum scmp_compare scmp_ops[_ND_SC_OP_MAX] = {
        [ND_SC_NE] = SCMP_CMP_NE, [ND_SC_LT] = SCMP_CMP_LT, [ND_SC_LE] = SCMP_CMP_LE,      [ND_SC_EQ] = SCMP_CMP_EQ,
        [ND_SC_GE] = SCMP_CMP_GE, [ND_SC_GT] = SCMP_CMP_GT, [ND_SC_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static unsigned kernel_version(void) {
        struct utsname u;
        unsigned maj = 0, min = 0;
        if (uname(&u) == 0)
                sscanf(u.release, "%u.%u", &maj, &min);
        return maj << 16 | min;
}

static int rule_add(scmp_filter_ctx ctx, const nd_sc_rule *r, uint32_t act, int nr) {
        struct scmp_arg_cmp cmp[ND_SC_MAX_ARGS];
        bool repeated = false;

        for (size_t i = 0; i < r->n_args; i++) {
                cmp[i] = (struct scmp_arg_cmp) { .arg = r->args[i].index, .op = scmp_ops[r->args[i].op],
                                                 .datum_a = r->args[i].value, .datum_b = r->args[i].value_two };
                for (size_t k = 0; k < i; k++)
                        if (r->args[k].index == r->args[i].index)
                                repeated = true;
        }
        /* libseccomp takes one comparison per argument in a rule; several
         * on one argument are alternatives, one rule each (runc's reading) */
        if (!repeated)
                return seccomp_rule_add_array(ctx, act, nr, (unsigned) r->n_args, cmp);
        for (size_t i = 0; i < r->n_args; i++) {
                int k = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

int nd_sandbox_seccomp_load(const nd_sc_profile *p, uint64_t caps, bool no_new_privs, char *err, size_t errsz) {
        uint32_t def = scmp_action(p->default_action, p->default_errno);
        unsigned kernel = kernel_version();
        const char *arch = nd_sc_native_arch();
        int r;

        scmp_filter_ctx ctx = seccomp_init(def);
        if (!ctx)
                return snprintf(err, errsz, "seccomp: cannot initialise a filter"), -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
        for (size_t i = 0; r >= 0 && i < p->n_arches; i++) {
                uint32_t a = seccomp_arch_resolve_name(p->arches[i]);
                if (a == 0)
                        continue; /* not known to this libseccomp */
                r = seccomp_arch_add(ctx, a);
                if (r == -EEXIST)
                        r = 0;
        }
        if (r < 0) {
                snprintf(err, errsz, "seccomp: architectures: %s", strerror(-r));
                goto out;
        }
        for (size_t i = 0; i < p->n_rules; i++) {
                const nd_sc_rule *rule = &p->rules[i];
                uint32_t act = scmp_action(rule->action, rule->errno_ret);
                if (act == def || !nd_sc_rule_applies(rule, caps, arch, kernel))
                        continue; /* libseccomp refuses a rule with the default action */
                for (size_t k = 0; k < rule->n_names; k++) {
                        int nr = seccomp_syscall_resolve_name(rule->names[k]);
                        if (nr == __NR_SCMP_ERROR)
                                continue; /* unknown to this libseccomp: as runc, skip it */
                        r = rule_add(ctx, rule, act, nr);
                        if (r < 0) {
                                snprintf(err, errsz, "seccomp: rule for '%s': %s", rule->names[k], strerror(-r));
                                goto out;
                        }
                }
        }
        r = seccomp_load(ctx);
        if (r < 0)
                snprintf(err, errsz, "seccomp: loading the filter: %s", strerror(-r));
out:
        seccomp_release(ctx);
        return r;
}
