/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "diag.h"
#include "seccomp-profile.h"

static const char *const action_names[_ND_SC_ACTION_MAX] = {
        [ND_SC_KILL_THREAD] = "SCMP_ACT_KILL_THREAD", [ND_SC_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [ND_SC_TRAP] = "SCMP_ACT_TRAP",               [ND_SC_ERRNO] = "SCMP_ACT_ERRNO",
        [ND_SC_TRACE] = "SCMP_ACT_TRACE",             [ND_SC_ALLOW] = "SCMP_ACT_ALLOW",
        [ND_SC_LOG] = "SCMP_ACT_LOG",
};

static const char *const op_names[_ND_SC_OP_MAX] = {
        [ND_SC_NE] = "SCMP_CMP_NE", [ND_SC_LT] = "SCMP_CMP_LT", [ND_SC_LE] = "SCMP_CMP_LE",
        [ND_SC_EQ] = "SCMP_CMP_EQ", [ND_SC_GE] = "SCMP_CMP_GE", [ND_SC_GT] = "SCMP_CMP_GT",
        [ND_SC_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* Docker's SCMP_ARCH_* names -> libseccomp's */
static const char *const arch_map[][2] = {
        { "SCMP_ARCH_X86", "x86" },         { "SCMP_ARCH_X86_64", "x86_64" },   { "SCMP_ARCH_X32", "x32" },
        { "SCMP_ARCH_ARM", "arm" },         { "SCMP_ARCH_AARCH64", "aarch64" }, { "SCMP_ARCH_MIPS", "mips" },
        { "SCMP_ARCH_MIPS64", "mips64" },   { "SCMP_ARCH_MIPS64N32", "mips64n32" },
        { "SCMP_ARCH_MIPSEL", "mipsel" },   { "SCMP_ARCH_MIPSEL64", "mipsel64" },
        { "SCMP_ARCH_MIPSEL64N32", "mipsel64n32" }, { "SCMP_ARCH_PPC", "ppc" },
        { "SCMP_ARCH_PPC64", "ppc64" },     { "SCMP_ARCH_PPC64LE", "ppc64le" }, { "SCMP_ARCH_S390", "s390" },
        { "SCMP_ARCH_S390X", "s390x" },     { "SCMP_ARCH_RISCV64", "riscv64" },
};

#if defined(__x86_64__)
#define NATIVE_ARCH "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define NATIVE_ARCH "SCMP_ARCH_AARCH64"
#elif defined(__i386__)
#define NATIVE_ARCH "SCMP_ARCH_X86"
#elif defined(__arm__)
#define NATIVE_ARCH "SCMP_ARCH_ARM"
#elif defined(__s390x__)
#define NATIVE_ARCH "SCMP_ARCH_S390X"
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "SCMP_ARCH_RISCV64"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "SCMP_ARCH_PPC64LE"
#else
#define NATIVE_ARCH ""
#endif

/* Go's names, which includes/excludes.arches use */
const char *nd_sc_native_arch(void) {
        static const char *const go[][2] = {
                { "SCMP_ARCH_X86_64", "amd64" }, { "SCMP_ARCH_AARCH64", "arm64" }, { "SCMP_ARCH_X86", "386" },
                { "SCMP_ARCH_ARM", "arm" },      { "SCMP_ARCH_S390X", "s390x" },   { "SCMP_ARCH_RISCV64", "riscv64" },
                { "SCMP_ARCH_PPC64LE", "ppc64le" },
        };
        for (size_t i = 0; i < sizeof(go) / sizeof(go[0]); i++)
                if (strcmp(go[i][0], NATIVE_ARCH) == 0)
                        return go[i][1];
        return "";
}

const char *nd_sc_action_to_string(nd_sc_action a) {
        return a >= 0 && a < _ND_SC_ACTION_MAX ? action_names[a] : "?";
}

const char *nd_sc_arch_from_string(const char *s) {
        for (size_t i = 0; s && i < sizeof(arch_map) / sizeof(arch_map[0]); i++)
                if (strcmp(arch_map[i][0], s) == 0)
                        return arch_map[i][1];
        return NULL;
}

static nd_sc_action action_from_string(const char *s, const char *where, struct nd_diag *d) {
        if (!s)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s: 'action' must be a string", where);
        if (strcmp(s, "SCMP_ACT_KILL") == 0)
                return ND_SC_KILL_THREAD;
        for (int i = 0; i < _ND_SC_ACTION_MAX; i++)
                if (strcmp(action_names[i], s) == 0)
                        return (nd_sc_action) i;
        if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s: SCMP_ACT_NOTIFY is not supported", where);
        return nd_diag_set(d, -EINVAL, "seccomp profile: %s: unknown action '%.64s'", where, s);
}

static int errno_from_json(const json_t *v, const char *where, int *ret, struct nd_diag *d) {
        if (!v || json_is_null(v))
                return 0;
        /* MAX_ERRNO: the kernel keeps 12 bits of SECCOMP_RET_DATA for errno */
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s must be an integer 0..4095", where);
        *ret = (int) json_integer_value(v);
        return 0;
}

/* Optional array of strings: *ret (malloc'd, borrowed strings), *n. */
static int strings(const json_t *a, size_t max, const char *where, const char ***ret, size_t *n, struct nd_diag *d) {
        const json_t *v;
        size_t i;
        *ret = NULL;
        *n = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > max)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s must be an array of at most %zu strings", where, max);
        if (json_array_size(a) == 0)
                return 0;
        *ret = calloc(json_array_size(a), sizeof(char *));
        if (!*ret)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= ND_SC_NAME_MAX ||
                    strlen(json_string_value(v)) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "seccomp profile: %s[%zu] must be a name shorter than %d "
                                           "characters", where, i, ND_SC_NAME_MAX);
                (*ret)[(*n)++] = json_string_value(v);
        }
        return 0;
}

static int caps_from_json(const json_t *a, const char *where, uint64_t *ret, struct nd_diag *d) {
        const json_t *v;
        char buf[ND_CAP_NAME_MAX];
        size_t i;
        *ret = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_CAP_LAST + 1)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s.caps must be an array of capability names", where);
        json_array_foreach(a, i, v) {
                int c = nd_cap_normalize(json_string_value(v), buf, NULL);
                if (c < 0 || c == ND_CAP_ALL)
                        return nd_diag_set(d, -EINVAL, "seccomp profile: %s.caps: unknown capability '%.40s'", where,
                                           json_is_string(v) ? json_string_value(v) : "?");
                *ret |= UINT64_C(1) << c;
        }
        return 0;
}

static int kernel_from_json(const json_t *v, const char *where, unsigned *ret, struct nd_diag *d) {
        unsigned maj, min;
        char tail;
        if (!v || json_is_null(v))
                return *ret = 0, 0;
        if (!json_is_string(v) || sscanf(json_string_value(v), "%u.%u%c", &maj, &min, &tail) != 2 || maj > 0xffff ||
            min > 0xffff)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s.minKernel must be like \"4.8\"", where);
        *ret = maj << 16 | min;
        return 0;
}

static int filter_from_json(const json_t *f, bool include, nd_sc_rule *r, const char *where, struct nd_diag *d) {
        char w[96];
        int k;
        if (!f || json_is_null(f))
                return 0;
        snprintf(w, sizeof(w), "%s.%s", where, include ? "includes" : "excludes");
        if (!json_is_object(f))
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s must be an object", w);
        if ((k = caps_from_json(json_object_get(f, "caps"), w, include ? &r->includes_caps : &r->excludes_caps, d)) < 0)
                return k;
        snprintf(w + strlen(w), sizeof(w) - strlen(w), ".arches");
        if (include)
                k = strings(json_object_get(f, "arches"), 32, w, &r->includes_arches, &r->n_includes_arches, d);
        else
                k = strings(json_object_get(f, "arches"), 32, w, &r->excludes_arches, &r->n_excludes_arches, d);
        if (k < 0)
                return k;
        if (include)
                return kernel_from_json(json_object_get(f, "minKernel"), where, &r->min_kernel, d);
        return 0;
}

static int args_from_json(const json_t *a, nd_sc_rule *r, const char *where, struct nd_diag *d) {
        const json_t *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_SC_MAX_ARGS)
                return nd_diag_set(d, -EINVAL, "seccomp profile: %s.args must be an array of at most %d conditions",
                                   where, ND_SC_MAX_ARGS);
        json_array_foreach(a, i, v) {
                nd_sc_arg *g = &r->args[i];
                const json_t *idx = json_object_get(v, "index"), *val = json_object_get(v, "value"),
                             *two = json_object_get(v, "valueTwo"), *op = json_object_get(v, "op");
                if (!json_is_object(v) || !json_is_integer(idx) || json_integer_value(idx) < 0 ||
                    json_integer_value(idx) > 5)
                        return nd_diag_set(d, -EINVAL, "seccomp profile: %s.args[%zu].index must be 0..5", where, i);
                if (!json_is_integer(val) || (two && !json_is_null(two) && !json_is_integer(two)))
                        return nd_diag_set(d, -EINVAL, "seccomp profile: %s.args[%zu]: 'value' and 'valueTwo' must "
                                           "be integers", where, i);
                g->index = (unsigned) json_integer_value(idx);
                g->value = (uint64_t) json_integer_value(val);
                g->value_two = (uint64_t) json_integer_value(two);
                g->op = _ND_SC_OP_INVALID;
                for (int o = 0; json_is_string(op) && o < _ND_SC_OP_MAX; o++)
                        if (strcmp(op_names[o], json_string_value(op)) == 0)
                                g->op = (nd_sc_op) o;
                if (g->op < 0)
                        return nd_diag_set(d, -EINVAL, "seccomp profile: %s.args[%zu]: unknown op '%.40s'", where, i,
                                           json_is_string(op) ? json_string_value(op) : "?");
                r->n_args++;
        }
        return 0;
}

static void rule_done(nd_sc_rule *r) {
        free(r->names);
        free(r->includes_arches);
        free(r->excludes_arches);
}

nd_sc_profile *nd_sc_profile_free(nd_sc_profile *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++)
                rule_done(&p->rules[i]);
        free(p->rules);
        json_decref(p->json);
        free(p);
        return NULL;
}

static int arches_from_json(const json_t *j, nd_sc_profile *p, struct nd_diag *d) {
        const json_t *a = json_object_get(j, "architectures"), *map = json_object_get(j, "archMap"), *v, *e;
        size_t i, k;

        /* archMap (Docker's own default.json): the entry of the native
         * architecture with its sub-architectures */
        if ((!a || json_is_null(a)) && map && !json_is_null(map)) {
                if (!json_is_array(map))
                        return nd_diag_set(d, -EINVAL, "seccomp profile: 'archMap' must be an array");
                a = NULL;
                json_array_foreach(map, i, e) {
                        const json_t *arch = json_object_get(e, "architecture");
                        if (!json_is_object(e) || !json_is_string(arch))
                                return nd_diag_set(d, -EINVAL, "seccomp profile: archMap[%zu] needs an 'architecture'", i);
                        if (strcmp(json_string_value(arch), NATIVE_ARCH) != 0)
                                continue;
                        const json_t *sub = json_object_get(e, "subArchitectures");
                        if (sub && !json_is_null(sub) && !json_is_array(sub))
                                return nd_diag_set(d, -EINVAL, "seccomp profile: archMap[%zu].subArchitectures must "
                                                   "be an array", i);
                        p->arches[p->n_arches++] = nd_sc_arch_from_string(json_string_value(arch));
                        json_array_foreach(sub, k, v) {
                                const char *s = nd_sc_arch_from_string(json_string_value(v));
                                if (!s)
                                        return nd_diag_set(d, -EINVAL, "seccomp profile: unknown architecture '%.40s'",
                                                           json_is_string(v) ? json_string_value(v) : "?");
                                if (p->n_arches == ND_SC_MAX_ARCHES)
                                        return nd_diag_set(d, -EINVAL, "seccomp profile: too many architectures");
                                p->arches[p->n_arches++] = s;
                        }
                }
                return 0;
        }
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_SC_MAX_ARCHES)
                return nd_diag_set(d, -EINVAL, "seccomp profile: 'architectures' must be an array of at most %d names",
                                   ND_SC_MAX_ARCHES);
        json_array_foreach(a, i, v) {
                const char *s = nd_sc_arch_from_string(json_string_value(v));
                if (!s)
                        return nd_diag_set(d, -EINVAL, "seccomp profile: unknown architecture '%.40s'",
                                           json_is_string(v) ? json_string_value(v) : "?");
                p->arches[p->n_arches++] = s;
        }
        return 0;
}

int nd_sc_profile_from_json(const void *json, nd_sc_profile **ret, struct nd_diag *d) {
        const json_t *j = json, *calls, *c;
        nd_sc_profile *p;
        size_t i, total = 0;
        int r;

        if (!json_is_object(j))
                return nd_diag_set(d, -EINVAL, "seccomp profile: not a JSON object");
        p = calloc(1, sizeof(*p));
        if (!p)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        p->json = json_incref((json_t *) j);
        p->default_errno = EPERM;
        r = action_from_string(json_string_value(json_object_get(j, "defaultAction")), "defaultAction", d);
        if (r < 0)
                goto fail;
        p->default_action = (nd_sc_action) r;
        if ((r = errno_from_json(json_object_get(j, "defaultErrnoRet"), "'defaultErrnoRet'", &p->default_errno, d)) < 0 ||
            (r = arches_from_json(j, p, d)) < 0)
                goto fail;
        calls = json_object_get(j, "syscalls");
        if (calls && !json_is_null(calls)) {
                if (!json_is_array(calls) || json_array_size(calls) > ND_SC_MAX_RULES) {
                        r = nd_diag_set(d, -EINVAL, "seccomp profile: 'syscalls' must be an array of at most %d entries",
                                        ND_SC_MAX_RULES);
                        goto fail;
                }
                p->rules = calloc(json_array_size(calls) + 1, sizeof(nd_sc_rule));
                if (!p->rules) {
                        r = nd_diag_set(d, -ENOMEM, "out of memory");
                        goto fail;
                }
        }
        json_array_foreach(calls, i, c) {
                nd_sc_rule *rule = &p->rules[p->n_rules];
                char where[32];
                snprintf(where, sizeof(where), "syscalls[%zu]", i);
                if (!json_is_object(c)) {
                        r = nd_diag_set(d, -EINVAL, "seccomp profile: %s must be an object", where);
                        goto fail;
                }
                p->n_rules++;
                const json_t *names = json_object_get(c, "names"), *name = json_object_get(c, "name");
                if ((!names || json_is_null(names)) && json_is_string(name)) {
                        /* the old single-name form */
                        rule->names = calloc(1, sizeof(char *));
                        if (!rule->names || json_string_length(name) == 0 || json_string_length(name) >= ND_SC_NAME_MAX) {
                                r = nd_diag_set(d, rule->names ? -EINVAL : -ENOMEM, "seccomp profile: %s: bad 'name'", where);
                                goto fail;
                        }
                        rule->names[rule->n_names++] = json_string_value(name);
                } else if ((r = strings(names, ND_SC_MAX_NAMES, where, &rule->names, &rule->n_names, d)) < 0)
                        goto fail;
                if (rule->n_names == 0) {
                        r = nd_diag_set(d, -EINVAL, "seccomp profile: %s has no 'names'", where);
                        goto fail;
                }
                total += rule->n_names;
                if (total > ND_SC_MAX_NAMES) {
                        r = nd_diag_set(d, -EINVAL, "seccomp profile: more than %d syscall names", ND_SC_MAX_NAMES);
                        goto fail;
                }
                r = action_from_string(json_string_value(json_object_get(c, "action")), where, d);
                if (r < 0)
                        goto fail;
                rule->action = (nd_sc_action) r;
                rule->errno_ret = EPERM;
                char w2[48];
                snprintf(w2, sizeof(w2), "%s.errnoRet", where);
                if ((r = errno_from_json(json_object_get(c, "errnoRet"), w2, &rule->errno_ret, d)) < 0 ||
                    (r = args_from_json(json_object_get(c, "args"), rule, where, d)) < 0 ||
                    (r = filter_from_json(json_object_get(c, "includes"), true, rule, where, d)) < 0 ||
                    (r = filter_from_json(json_object_get(c, "excludes"), false, rule, where, d)) < 0)
                        goto fail;
        }
        *ret = p;
        return 0;
fail:
        nd_sc_profile_free(p);
        return r;
}

int nd_sc_profile_parse(const char *text, size_t len, nd_sc_profile **ret, struct nd_diag *d) {
        json_error_t je;
        if (len > ND_SC_PROFILE_MAX_BYTES)
                return nd_diag_set(d, -E2BIG, "seccomp profile: larger than %d bytes", ND_SC_PROFILE_MAX_BYTES);
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                return nd_diag_set(d, -EINVAL, "seccomp profile: invalid JSON at line %d, column %d: %s", je.line,
                                   je.column, je.text);
        int r = nd_sc_profile_from_json(j, ret, d);
        json_decref(j);
        return r;
}

bool nd_sc_rule_applies(const nd_sc_rule *r, uint64_t caps, const char *arch, unsigned kernel) {
        bool in = r->n_includes_arches == 0;
        if ((caps & r->includes_caps) != r->includes_caps || (caps & r->excludes_caps))
                return false;
        if (r->min_kernel && kernel < r->min_kernel)
                return false;
        for (size_t i = 0; i < r->n_includes_arches; i++)
                if (strcmp(r->includes_arches[i], arch) == 0)
                        in = true;
        for (size_t i = 0; i < r->n_excludes_arches; i++)
                if (strcmp(r->excludes_arches[i], arch) == 0)
                        return false;
        return in;
}

/* ---- Docker's default profile (moby profiles/seccomp/default.json) ------------------ */

static const char *const default_allow[] = {
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
        "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
        "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu",
        "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
        "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
        "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
        "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
        "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
        "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
        "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
        "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
        "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
        "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
        "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
        "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
        "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
        "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
        "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
        "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
        "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
        "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
        "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
        "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
        "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
        "waitid", "waitpid", "write", "writev", NULL,
};

#define CAP(n) (UINT64_C(1) << (n))
#define NAMES(...) ((const char *const[]) { __VA_ARGS__, NULL })

static const struct default_rule {
        const char *const *names;
        nd_sc_action action;
        int errno_ret;
        uint64_t includes_caps, excludes_caps;
        const char *const *arches;
        unsigned min_kernel;
        nd_sc_arg arg;            /* op ND_SC_NE with index 6: none */
} default_rules[] = {
        { .names = default_allow, .action = ND_SC_ALLOW },
        /* ptrace cannot bypass seccomp since 4.8 */
        { .names = NAMES("process_vm_readv", "process_vm_writev", "ptrace"), .action = ND_SC_ALLOW, .min_kernel = 4 << 16 | 8 },
        { .names = NAMES("socket"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 40 /* AF_VSOCK */, .op = ND_SC_NE } },
        { .names = NAMES("personality"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 0x0, .op = ND_SC_EQ } },
        { .names = NAMES("personality"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 0x8, .op = ND_SC_EQ } },
        { .names = NAMES("personality"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 0x20000, .op = ND_SC_EQ } },
        { .names = NAMES("personality"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 0x20008, .op = ND_SC_EQ } },
        { .names = NAMES("personality"), .action = ND_SC_ALLOW, .arg = { .index = 0, .value = 0xffffffff, .op = ND_SC_EQ } },
        { .names = NAMES("arch_prctl", "modify_ldt"), .action = ND_SC_ALLOW, .arches = NAMES("amd64", "x32", "x86") },
        { .names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush",
                "set_tls"), .action = ND_SC_ALLOW, .arches = NAMES("arm", "arm64") },
        { .names = NAMES("riscv_flush_icache"), .action = ND_SC_ALLOW, .arches = NAMES("riscv64") },
        { .names = NAMES("open_by_handle_at"), .action = ND_SC_ALLOW, .includes_caps = CAP(2) /* DAC_READ_SEARCH */ },
        { .names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
                "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"),
          ND_SC_ALLOW, .includes_caps = CAP(21) /* SYS_ADMIN */ },
        /* no CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP without CAP_SYS_ADMIN */
        { .names = NAMES("clone"), .action = ND_SC_ALLOW, .excludes_caps = CAP(21), .arg = { .index = 0, .value = 0x7E020000, .op = ND_SC_MASKED_EQ } },
        /* clone3's flags live in memory seccomp cannot read: ENOSYS makes libc fall back to clone */
        { .names = NAMES("clone3"), .action = ND_SC_ERRNO, .errno_ret = 38 /* ENOSYS */, .excludes_caps = CAP(21) },
        { .names = NAMES("reboot"), .action = ND_SC_ALLOW, .includes_caps = CAP(22) /* SYS_BOOT */ },
        { .names = NAMES("chroot"), .action = ND_SC_ALLOW, .includes_caps = CAP(18) /* SYS_CHROOT */ },
        { .names = NAMES("delete_module", "init_module", "finit_module"), .action = ND_SC_ALLOW, .includes_caps = CAP(16) },
        { .names = NAMES("acct"), .action = ND_SC_ALLOW, .includes_caps = CAP(20) /* SYS_PACCT */ },
        { .names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"),
          ND_SC_ALLOW, .includes_caps = CAP(19) /* SYS_PTRACE */ },
        { .names = NAMES("iopl", "ioperm"), .action = ND_SC_ALLOW, .includes_caps = CAP(17) /* SYS_RAWIO */ },
        { .names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"), .action = ND_SC_ALLOW,
          .includes_caps = CAP(25) /* SYS_TIME */ },
        { .names = NAMES("vhangup"), .action = ND_SC_ALLOW, .includes_caps = CAP(26) /* SYS_TTY_CONFIG */ },
        { .names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"), .action = ND_SC_ALLOW,
          .includes_caps = CAP(23) /* SYS_NICE */ },
        { .names = NAMES("syslog"), .action = ND_SC_ALLOW, .includes_caps = CAP(34) /* SYSLOG */ },
        { .names = NAMES("bpf"), .action = ND_SC_ALLOW, .includes_caps = CAP(39) /* BPF */ },
        { .names = NAMES("perf_event_open"), .action = ND_SC_ALLOW, .includes_caps = CAP(38) /* PERFMON */ },
};

int nd_sc_profile_default(nd_sc_profile **ret) {
        nd_sc_profile *p = calloc(1, sizeof(*p));
        size_t n = sizeof(default_rules) / sizeof(default_rules[0]);

        if (!p || !(p->rules = calloc(n, sizeof(nd_sc_rule)))) {
                free(p);
                return -ENOMEM;
        }
        p->default_action = ND_SC_ERRNO;
        p->default_errno = EPERM;
        /* Docker's archMap: the 32-bit ABIs of the native architecture too */
        p->arches[p->n_arches++] = nd_sc_arch_from_string(NATIVE_ARCH);
        if (strcmp(NATIVE_ARCH, "SCMP_ARCH_X86_64") == 0) {
                p->arches[p->n_arches++] = "x86";
                p->arches[p->n_arches++] = "x32";
        } else if (strcmp(NATIVE_ARCH, "SCMP_ARCH_AARCH64") == 0)
                p->arches[p->n_arches++] = "arm";
        if (!p->arches[0])
                p->n_arches = 0;
        for (size_t i = 0; i < n; i++) {
                const struct default_rule *dr = &default_rules[i];
                nd_sc_rule *r = &p->rules[p->n_rules++];
                size_t k = 0;
                while (dr->names[k])
                        k++;
                r->names = malloc(k * sizeof(char *));
                if (!r->names) {
                        nd_sc_profile_free(p);
                        return -ENOMEM;
                }
                memcpy(r->names, dr->names, k * sizeof(char *));
                r->n_names = k;
                r->action = dr->action;
                r->errno_ret = dr->errno_ret ? dr->errno_ret : EPERM;
                r->includes_caps = dr->includes_caps;
                r->excludes_caps = dr->excludes_caps;
                r->min_kernel = dr->min_kernel;
                if (dr->arg.op != ND_SC_NE || dr->arg.value) {
                        r->args[0] = dr->arg;
                        r->n_args = 1;
                }
                if (dr->arches) {
                        k = 0;
                        while (dr->arches[k])
                                k++;
                        r->includes_arches = malloc(k * sizeof(char *));
                        if (!r->includes_arches) {
                                nd_sc_profile_free(p);
                                return -ENOMEM;
                        }
                        memcpy(r->includes_arches, dr->arches, k * sizeof(char *));
                        r->n_includes_arches = k;
                }
        }
        *ret = p;
        return 0;
}
