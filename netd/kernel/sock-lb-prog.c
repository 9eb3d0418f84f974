/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket load balancer's programs (sock-lb.h), assembled by hand:
 * four short straight-line programs do not justify a compiler toolchain
 * and libbpf, and written out here each instruction says what it does.
 *
 * Registers: r1-r5 are arguments and clobbered by every call, r6-r9 are
 * kept: r6 the context (struct bpf_sock_addr), r7 the svc map's value, r8
 * the backend count, r9 the backend's index and then its address.  The
 * stack: fp-4 the VIP (svc's key and rev's value), fp-24..fp-8 rev's key
 * (cookie, address, zero padding) in the rewriting programs, fp-16..fp-1
 * in the reverse ones.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"
#include "sock-lb.h"

#define INSN(c, d, s, o, i) \
        ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU64_IMM(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU64_REG(op, d, s) INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU32_REG(op, d, s) INSN(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, o) INSN(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define STX(sz, d, s, o) INSN(BPF_STX | (sz) | BPF_MEM, d, s, o, 0)
#define ST_IMM(sz, d, o, i) INSN(BPF_ST | (sz) | BPF_MEM, d, 0, o, i)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define CTX_IP4 ((int16_t) offsetof(struct bpf_sock_addr, user_ip4))
#define CTX_PROTO ((int16_t) offsetof(struct bpf_sock_addr, protocol))

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };
enum { L_PROTO_OK, L_OUT, _L_MAX };

/* A program being written: jumps name a label, fixed once all are
 * placed. */
struct prog {
        struct bpf_insn *out;
        size_t n;
        int label[_L_MAX];
        int jump_to[ND_SOCKLB_INSNS_MAX]; /* label + 1, 0: not a jump */
};

static void emit(struct prog *p, struct bpf_insn i) {
        assert(p->n < ND_SOCKLB_INSNS_MAX);
        p->jump_to[p->n] = 0;
        p->out[p->n++] = i;
}

/* if dst OP imm goto label */
static void jmp_imm(struct prog *p, int op, int dst, int32_t imm, int label) {
        emit(p, INSN(BPF_JMP | op | BPF_K, dst, 0, 0, imm));
        p->jump_to[p->n - 1] = label + 1;
}

static void place(struct prog *p, int label) {
        p->label[label] = (int) p->n;
}

static void map_fd(struct prog *p, int dst, int fd) {
        emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd));
        emit(p, INSN(0, 0, 0, 0, 0));
}

static size_t finish(struct prog *p) {
        for (size_t i = 0; i < p->n; i++)
                if (p->jump_to[i]) {
                        int to = p->label[p->jump_to[i] - 1];
                        assert(to > (int) i);
                        p->out[i].off = (int16_t) (to - (int) i - 1);
                }
        return p->n;
}

/* connect4 and sendmsg4: VIP -> a backend, remembering backend -> VIP
 * for this socket */
static void build_rewrite(struct prog *p, nd_socklb_prog kind, int svc_fd, int rev_fd) {
        emit(p, MOV64_REG(R6, R1));
        if (kind == ND_SOCKLB_CONNECT4) {
                /* TCP and UDP only: ICMP sockets keep the VIP (nftables) */
                emit(p, LDX(BPF_W, R2, R6, CTX_PROTO));
                jmp_imm(p, BPF_JEQ, R2, IPPROTO_TCP, L_PROTO_OK);
                jmp_imm(p, BPF_JNE, R2, IPPROTO_UDP, L_OUT);
                place(p, L_PROTO_OK);
        }
        emit(p, LDX(BPF_W, R2, R6, CTX_IP4));
        emit(p, STX(BPF_W, R10, R2, -4));
        map_fd(p, R1, svc_fd);
        emit(p, MOV64_REG(R2, R10));
        emit(p, ALU64_IMM(BPF_ADD, R2, -4));
        emit(p, CALL(BPF_FUNC_map_lookup_elem));
        jmp_imm(p, BPF_JEQ, R0, 0, L_OUT);
        emit(p, MOV64_REG(R7, R0));
        emit(p, LDX(BPF_W, R8, R7, 0));
        jmp_imm(p, BPF_JEQ, R8, 0, L_OUT);
        if (kind == ND_SOCKLB_CONNECT4) {
                /* a connection: any backend, as numgen random does */
                emit(p, CALL(BPF_FUNC_get_prandom_u32));
                emit(p, MOV64_REG(R9, R0));
        } else {
                /* unconnected UDP: the same backend for every datagram
                 * of this socket while the set stays (a reply comes
                 * from where the request went) */
                emit(p, MOV64_REG(R1, R6));
                emit(p, CALL(BPF_FUNC_get_socket_cookie));
                emit(p, MOV64_REG(R9, R0));
                emit(p, ALU64_IMM(BPF_RSH, R0, 32));
                emit(p, ALU64_REG(BPF_XOR, R9, R0));
        }
        emit(p, ALU32_REG(BPF_MOD, R9, R8));
        /* the verifier's bound on the index (and ours on a bad count) */
        jmp_imm(p, BPF_JGE, R9, ND_SOCKLB_BACKENDS_MAX, L_OUT);
        emit(p, ALU64_IMM(BPF_LSH, R9, 2));
        emit(p, ALU64_REG(BPF_ADD, R7, R9));
        emit(p, LDX(BPF_W, R9, R7, (int16_t) offsetof(struct nd_socklb_value, be)));
        emit(p, MOV64_REG(R1, R6));
        emit(p, CALL(BPF_FUNC_get_socket_cookie));
        emit(p, STX(BPF_DW, R10, R0, -24));
        emit(p, STX(BPF_W, R10, R9, -16));
        emit(p, ST_IMM(BPF_W, R10, -12, 0));
        map_fd(p, R1, rev_fd);
        emit(p, MOV64_REG(R2, R10));
        emit(p, ALU64_IMM(BPF_ADD, R2, -24));
        emit(p, MOV64_REG(R3, R10));
        emit(p, ALU64_IMM(BPF_ADD, R3, -4));
        emit(p, MOV64_IMM(R4, BPF_ANY));
        emit(p, CALL(BPF_FUNC_map_update_elem));
        emit(p, STX(BPF_W, R6, R9, CTX_IP4));
        place(p, L_OUT);
        emit(p, MOV64_IMM(R0, 1));
        emit(p, EXIT());
}

/* recvmsg4 and getpeername4: backend -> VIP, for a socket that was
 * rewritten */
static void build_reverse(struct prog *p, int rev_fd) {
        emit(p, MOV64_REG(R6, R1));
        emit(p, CALL(BPF_FUNC_get_socket_cookie));
        emit(p, STX(BPF_DW, R10, R0, -16));
        emit(p, LDX(BPF_W, R2, R6, CTX_IP4));
        emit(p, STX(BPF_W, R10, R2, -8));
        emit(p, ST_IMM(BPF_W, R10, -4, 0));
        map_fd(p, R1, rev_fd);
        emit(p, MOV64_REG(R2, R10));
        emit(p, ALU64_IMM(BPF_ADD, R2, -16));
        emit(p, CALL(BPF_FUNC_map_lookup_elem));
        jmp_imm(p, BPF_JEQ, R0, 0, L_OUT);
        emit(p, LDX(BPF_W, R2, R0, 0));
        emit(p, STX(BPF_W, R6, R2, CTX_IP4));
        place(p, L_OUT);
        emit(p, MOV64_IMM(R0, 1));
        emit(p, EXIT());
}

size_t nd_socklb_prog_build(nd_socklb_prog kind, int svc_fd, int rev_fd, struct bpf_insn *out) {
        struct prog p = { .out = out };

        switch (kind) {
        case ND_SOCKLB_CONNECT4:
        case ND_SOCKLB_SENDMSG4:
                build_rewrite(&p, kind, svc_fd, rev_fd);
                break;
        case ND_SOCKLB_RECVMSG4:
        case ND_SOCKLB_GETPEERNAME4:
                build_reverse(&p, rev_fd);
                break;
        default:
                return 0;
        }
        return finish(&p);
}

int nd_socklb_prog_attach_type(nd_socklb_prog kind) {
        static const int types[_ND_SOCKLB_PROG_MAX] = {
                [ND_SOCKLB_CONNECT4] = BPF_CGROUP_INET4_CONNECT,
                [ND_SOCKLB_SENDMSG4] = BPF_CGROUP_UDP4_SENDMSG,
                [ND_SOCKLB_RECVMSG4] = BPF_CGROUP_UDP4_RECVMSG,
                [ND_SOCKLB_GETPEERNAME4] = BPF_CGROUP_INET4_GETPEERNAME,
        };
        return kind < _ND_SOCKLB_PROG_MAX ? types[kind] : -EINVAL;
}

const char *nd_socklb_prog_name(nd_socklb_prog kind) {
        static const char *const names[_ND_SOCKLB_PROG_MAX] = {
                [ND_SOCKLB_CONNECT4] = "nd_lb_connect4",
                [ND_SOCKLB_SENDMSG4] = "nd_lb_sendmsg4",
                [ND_SOCKLB_RECVMSG4] = "nd_lb_recvmsg4",
                [ND_SOCKLB_GETPEERNAME4] = "nd_lb_peername4",
        };
        return kind < _ND_SOCKLB_PROG_MAX ? names[kind] : NULL;
}
