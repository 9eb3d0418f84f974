/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file sock-lb.h
 * The socket-level load balancer of service VIPs (docs/services.md, "Data
 * path"): cgroup BPF programs that turn a connect() or an unconnected
 * sendmsg() to VIP:port into one to BACKEND:port before a packet exists,
 * so a container's connection to a VIP costs what one to the task does:
 * no DNAT, no route back out of the bridge, no masquerade, no conntrack
 * entry for the VIP.
 *
 * Owns two BPF maps and four programs, through raw bpf(2):
 *   - svc: VIP (IPv4, network order) -> nd_socklb_value, the healthy
 *     backends.  An element is replaced as a whole, so a program sees the
 *     old or the new set, never a mix.  No element (or none healthy):
 *     the socket is left alone and nftables' DNAT answers, which is also
 *     what every socket outside the attached cgroups (other hosts, the
 *     routing mesh, host processes) always gets.
 *   - rev (LRU): socket cookie . backend -> VIP, written at the rewrite,
 *     read by getpeername() and UDP recvmsg() so the application sees the
 *     VIP as its peer.  An entry outlives its socket until LRU evicts it;
 *     a cookie is never reused while the kernel runs.
 *   - connect4 (TCP and UDP connect: a random healthy backend per
 *     connect), sendmsg4 (unconnected UDP: a per-socket choice, the
 *     socket's cookie modulo the count, stable while the set is),
 *     recvmsg4 and getpeername4 (backend -> VIP).
 *
 * Programs are attached to a container's own cgroup v2 directory (not to
 * a common parent: two netds on one machine, as in the tests, must not
 * steer each other's containers), in the exclusive mode, so attaching
 * again replaces what a previous netd left (a restart after kill -9).
 * Nothing is pinned: netd detaches at exit; a cgroup that goes takes its
 * attachments with it.  Functions return 0 or -errno and log nothing.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>

/* Backends per VIP, as nftables' slots (firewall.h ND_SVC_SLOTS); a VIP
 * with more uses the first ones. */
#define ND_SOCKLB_BACKENDS_MAX 256
/* VIPs on one host, and sockets remembered for the VIP as their peer. */
#define ND_SOCKLB_VIPS_MAX 16384
#define ND_SOCKLB_SOCKETS_MAX 65536

/* The svc map's value: @n backends in @be, IPv4 in network order. */
struct nd_socklb_value {
        uint32_t n;
        uint32_t be[ND_SOCKLB_BACKENDS_MAX];
};

typedef struct nd_socklb nd_socklb;

/* Create the maps and load the programs: -ENOSYS/-EPERM without bpf(2)
 * (or the rights to it), -EINVAL/-EOPNOTSUPP when the kernel lacks one of
 * the hooks (getpeername4 came with Linux 5.8).  On failure @log (if not
 * NULL) holds the verifier's or the kernel's words. */
int nd_socklb_new(nd_socklb **ret, char *log, size_t log_size);
/* Closes the fds; the attachments stay with their cgroups (detach
 * first). */
nd_socklb *nd_socklb_free(nd_socklb *lb);

/* Attach (replacing whatever was attached in that exclusive mode) or
 * detach the four programs on the cgroup v2 directory @cgroup_dir. */
int nd_socklb_attach(nd_socklb *lb, const char *cgroup_dir);
int nd_socklb_detach(nd_socklb *lb, const char *cgroup_dir);

/* VIP @vip (network order) balances over @be[@n] (network order): 1 when
 * the element was written, 0 when it was absent and @n is 0; @n 0
 * removes it. */
int nd_socklb_vip_set(nd_socklb *lb, uint32_t vip, const uint32_t *be, size_t n);

/* ---- pure, for the tests ---- */

/* The value for @be[@n]: duplicates dropped (the first kept), at most
 * ND_SOCKLB_BACKENDS_MAX.  Returns the count kept. */
size_t nd_socklb_value_encode(const uint32_t *be, size_t n, struct nd_socklb_value *out);

typedef enum nd_socklb_prog {
        ND_SOCKLB_CONNECT4,
        ND_SOCKLB_SENDMSG4,
        ND_SOCKLB_RECVMSG4,
        ND_SOCKLB_GETPEERNAME4,
        _ND_SOCKLB_PROG_MAX,
} nd_socklb_prog;

#define ND_SOCKLB_INSNS_MAX 64

/* The instructions of @kind with the maps' fds @svc_fd and @rev_fd
 * (sock-lb-prog.c); returns the count, at most ND_SOCKLB_INSNS_MAX. */
size_t nd_socklb_prog_build(nd_socklb_prog kind, int svc_fd, int rev_fd, struct bpf_insn *out);
/* Its attach type (enum bpf_attach_type) and a name for bpftool. */
int nd_socklb_prog_attach_type(nd_socklb_prog kind);
const char *nd_socklb_prog_name(nd_socklb_prog kind);
