/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket load balancer (sock-lb.h): bpf(2) called directly.  libbpf
 * would bring an ELF loader and BTF for two maps and four programs of a
 * few dozen instructions each (sock-lb-prog.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "sock-lb.h"

struct nd_socklb {
        int svc_fd, rev_fd;
        int prog_fd[_ND_SOCKLB_PROG_MAX];
};

/* The rev map's key (sock-lb-prog.c lays it out on the stack the same
 * way). */
struct rev_key {
        uint64_t cookie;
        uint32_t addr;
        uint32_t pad;
};

static int sys_bpf(int cmd, union bpf_attr *attr) {
        long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
        return r < 0 ? -errno : (int) r;
}

static int map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max, uint32_t flags,
                      const char *name) {
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.map_type = type;
        a.key_size = key_size;
        a.value_size = value_size;
        a.max_entries = max;
        a.map_flags = flags;
        snprintf(a.map_name, sizeof(a.map_name), "%s", name);
        return sys_bpf(BPF_MAP_CREATE, &a);
}

static int prog_load(nd_socklb_prog kind, const struct bpf_insn *insns, size_t n, char *log, size_t log_size) {
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
        a.expected_attach_type = (uint32_t) nd_socklb_prog_attach_type(kind);
        a.insns = (uint64_t) (uintptr_t) insns;
        a.insn_cnt = (uint32_t) n;
        /* no helper used is GPL-only */
        a.license = (uint64_t) (uintptr_t) "Apache-2.0";
        snprintf(a.prog_name, sizeof(a.prog_name), "%s", nd_socklb_prog_name(kind));
        int r = sys_bpf(BPF_PROG_LOAD, &a);
        if (r < 0 && log && log_size > 1) {
                /* again, for the verifier's words */
                int e = r;
                log[0] = 0;
                a.log_buf = (uint64_t) (uintptr_t) log;
                a.log_size = (uint32_t) (log_size > UINT32_MAX ? UINT32_MAX : log_size);
                a.log_level = 1;
                (void) sys_bpf(BPF_PROG_LOAD, &a);
                r = e;
        }
        return r;
}

nd_socklb *nd_socklb_free(nd_socklb *lb) {
        if (!lb)
                return NULL;
        for (size_t i = 0; i < _ND_SOCKLB_PROG_MAX; i++)
                if (lb->prog_fd[i] >= 0)
                        close(lb->prog_fd[i]);
        if (lb->svc_fd >= 0)
                close(lb->svc_fd);
        if (lb->rev_fd >= 0)
                close(lb->rev_fd);
        free(lb);
        return NULL;
}

int nd_socklb_new(nd_socklb **ret, char *log, size_t log_size) {
        struct bpf_insn insns[ND_SOCKLB_INSNS_MAX];
        nd_socklb *lb = calloc(1, sizeof(*lb));
        int r;

        if (log && log_size)
                log[0] = 0;
        if (!lb)
                return -ENOMEM;
        lb->svc_fd = lb->rev_fd = -1;
        for (size_t i = 0; i < _ND_SOCKLB_PROG_MAX; i++)
                lb->prog_fd[i] = -1;
        r = map_create(BPF_MAP_TYPE_HASH, sizeof(uint32_t), sizeof(struct nd_socklb_value), ND_SOCKLB_VIPS_MAX,
                       BPF_F_NO_PREALLOC, "nd_lb_svc");
        if (r < 0)
                goto fail;
        lb->svc_fd = r;
        r = map_create(BPF_MAP_TYPE_LRU_HASH, sizeof(struct rev_key), sizeof(uint32_t), ND_SOCKLB_SOCKETS_MAX, 0,
                       "nd_lb_rev");
        if (r < 0)
                goto fail;
        lb->rev_fd = r;
        for (size_t i = 0; i < _ND_SOCKLB_PROG_MAX; i++) {
                size_t n = nd_socklb_prog_build((nd_socklb_prog) i, lb->svc_fd, lb->rev_fd, insns);
                r = prog_load((nd_socklb_prog) i, insns, n, log, log_size);
                if (r < 0)
                        goto fail;
                lb->prog_fd[i] = r;
        }
        *ret = lb;
        return 0;
fail:
        nd_socklb_free(lb);
        return r;
}

static int cgroup_op(nd_socklb *lb, const char *cgroup_dir, int cmd) {
        int fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < _ND_SOCKLB_PROG_MAX; i++) {
                union bpf_attr a;
                memset(&a, 0, sizeof(a));
                a.target_fd = (uint32_t) fd;
                a.attach_bpf_fd = (uint32_t) lb->prog_fd[i];
                a.attach_type = (uint32_t) nd_socklb_prog_attach_type((nd_socklb_prog) i);
                /* flags 0, the exclusive mode: a new attach replaces the
                 * old program (a previous netd's) instead of adding one */
                a.attach_flags = 0;
                int k = sys_bpf(cmd, &a);
                if (k < 0 && r == 0 && !(cmd == BPF_PROG_DETACH && k == -ENOENT))
                        r = k;
                if (k < 0 && cmd == BPF_PROG_ATTACH)
                        break;
        }
        close(fd);
        return r;
}

int nd_socklb_attach(nd_socklb *lb, const char *cgroup_dir) {
        int r = cgroup_op(lb, cgroup_dir, BPF_PROG_ATTACH);
        if (r < 0)
                (void) cgroup_op(lb, cgroup_dir, BPF_PROG_DETACH); /* none, or all four */
        return r;
}

int nd_socklb_detach(nd_socklb *lb, const char *cgroup_dir) {
        return cgroup_op(lb, cgroup_dir, BPF_PROG_DETACH);
}

size_t nd_socklb_value_encode(const uint32_t *be, size_t n, struct nd_socklb_value *out) {
        size_t k = 0;

        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < n && k < ND_SOCKLB_BACKENDS_MAX; i++) {
                bool dup = false;
                for (size_t j = 0; j < k && !dup; j++)
                        dup = out->be[j] == be[i];
                if (!dup && be[i] != 0)
                        out->be[k++] = be[i];
        }
        out->n = (uint32_t) k;
        return k;
}

int nd_socklb_vip_set(nd_socklb *lb, uint32_t vip, const uint32_t *be, size_t n) {
        struct nd_socklb_value *v = NULL;
        union bpf_attr a;
        int r;

        memset(&a, 0, sizeof(a));
        a.map_fd = (uint32_t) lb->svc_fd;
        a.key = (uint64_t) (uintptr_t) &vip;
        if (n > 0) {
                if (!(v = malloc(sizeof(*v))))
                        return -ENOMEM;
                n = nd_socklb_value_encode(be, n, v);
        }
        if (n == 0) {
                free(v);
                r = sys_bpf(BPF_MAP_DELETE_ELEM, &a);
                return r == -ENOENT ? 0 : r < 0 ? r : 1;
        }
        a.value = (uint64_t) (uintptr_t) v;
        a.flags = BPF_ANY;
        r = sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
        free(v);
        return r < 0 ? r : 1;
}
