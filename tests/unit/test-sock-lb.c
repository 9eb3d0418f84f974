/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket balancer's pure parts (netd/kernel/sock-lb.h) without a
 * kernel: the svc map's value encoding, and the four programs run on a
 * small interpreter of the instructions they use, with the maps and the
 * helpers faked, so what a connect(), sendmsg(), recvmsg() or
 * getpeername() on a VIP becomes is checked here and not only as root.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sock-lb.h"

#define SVC_FD 100
#define REV_FD 101

/* ---- the fake kernel ---- */

static struct {
        uint32_t vip;
        struct nd_socklb_value v;
} svc[4];
static size_t n_svc;
static struct {
        uint8_t key[16];
        uint32_t value;
} rev[16];
static size_t n_rev;
static uint64_t cookie;
static uint32_t prandom;

static void reset(void) {
        n_svc = n_rev = 0;
        cookie = 0x1234;
        prandom = 0;
}

static void svc_add(const char *vip, const char *const *be, size_t n) {
        uint32_t a[8];
        for (size_t i = 0; i < n; i++)
                a[i] = inet_addr(be[i]);
        svc[n_svc].vip = inet_addr(vip);
        nd_socklb_value_encode(a, n, &svc[n_svc].v);
        n_svc++;
}

static void *lookup(int fd, const void *key) {
        if (fd == SVC_FD) {
                for (size_t i = 0; i < n_svc; i++)
                        if (memcmp(&svc[i].vip, key, 4) == 0)
                                return &svc[i].v;
                return NULL;
        }
        assert_int_equal(fd, REV_FD);
        for (size_t i = 0; i < n_rev; i++)
                if (memcmp(rev[i].key, key, 16) == 0)
                        return &rev[i].value;
        return NULL;
}

static uint64_t update(int fd, const void *key, const void *value) {
        uint32_t *v;
        assert_int_equal(fd, REV_FD);
        if (!(v = lookup(fd, key))) {
                assert_true(n_rev < 16);
                memcpy(rev[n_rev].key, key, 16);
                v = &rev[n_rev++].value;
        }
        memcpy(v, value, 4);
        return 0;
}

/* Runs @insns[@n] on @ctx: the opcodes sock-lb-prog.c emits, nothing
 * more (anything else fails the test). */
static uint64_t run(const struct bpf_insn *insns, size_t n, struct bpf_sock_addr *ctx) {
        uint64_t r[11] = {0};
        uint8_t stack[512] = {0};
        r[1] = (uintptr_t) ctx;
        r[10] = (uintptr_t) (stack + sizeof(stack));

        for (size_t pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &insns[pc];
                uint64_t *d = &r[i->dst_reg], s = BPF_SRC(i->code) == BPF_X ? r[i->src_reg] : (uint64_t) (int64_t) i->imm;
                switch (i->code) {
                case BPF_ALU64 | BPF_MOV | BPF_X: case BPF_ALU64 | BPF_MOV | BPF_K: *d = s; break;
                case BPF_ALU64 | BPF_ADD | BPF_X: case BPF_ALU64 | BPF_ADD | BPF_K: *d += s; break;
                case BPF_ALU64 | BPF_XOR | BPF_X: *d ^= s; break;
                case BPF_ALU64 | BPF_RSH | BPF_K: *d >>= s; break;
                case BPF_ALU64 | BPF_LSH | BPF_K: *d <<= s; break;
                case BPF_ALU | BPF_MOD | BPF_X: *d = (uint32_t) s ? (uint32_t) *d % (uint32_t) s : (uint32_t) *d; break;
                case BPF_LDX | BPF_W | BPF_MEM: { uint32_t v; memcpy(&v, (void *) (uintptr_t) (r[i->src_reg] + (uint64_t) (int64_t) i->off), 4); *d = v; break; }
                case BPF_STX | BPF_W | BPF_MEM: { uint32_t v = (uint32_t) r[i->src_reg]; memcpy((void *) (uintptr_t) (*d + (uint64_t) (int64_t) i->off), &v, 4); break; }
                case BPF_STX | BPF_DW | BPF_MEM: memcpy((void *) (uintptr_t) (*d + (uint64_t) (int64_t) i->off), &r[i->src_reg], 8); break;
                case BPF_ST | BPF_W | BPF_MEM: { uint32_t v = (uint32_t) i->imm; memcpy((void *) (uintptr_t) (*d + (uint64_t) (int64_t) i->off), &v, 4); break; }
                case BPF_LD | BPF_DW | BPF_IMM:
                        assert_int_equal(i->src_reg, BPF_PSEUDO_MAP_FD);
                        *d = (uint64_t) i->imm;
                        pc++;
                        break;
                case BPF_JMP | BPF_JEQ | BPF_K: if (*d == s) pc += (size_t) i->off; break;
                case BPF_JMP | BPF_JNE | BPF_K: if (*d != s) pc += (size_t) i->off; break;
                case BPF_JMP | BPF_JGE | BPF_K: if (*d >= s) pc += (size_t) i->off; break;
                case BPF_JMP | BPF_CALL:
                        switch (i->imm) {
                        case BPF_FUNC_map_lookup_elem: r[0] = (uintptr_t) lookup((int) r[1], (void *) (uintptr_t) r[2]); break;
                        case BPF_FUNC_map_update_elem: r[0] = update((int) r[1], (void *) (uintptr_t) r[2], (void *) (uintptr_t) r[3]); break;
                        case BPF_FUNC_get_prandom_u32: r[0] = prandom; break;
                        case BPF_FUNC_get_socket_cookie: assert_ptr_equal((void *) (uintptr_t) r[1], ctx); r[0] = cookie; break;
                        default: fail_msg("helper %d", i->imm);
                        }
                        r[1] = r[2] = r[3] = r[4] = r[5] = 0xdeadbeef; /* clobbered */
                        break;
                case BPF_JMP | BPF_EXIT: return r[0];
                default: fail_msg("opcode 0x%02x at %zu", i->code, pc);
                }
        }
        fail_msg("ran off the end");
        return 0;
}

static uint64_t run_prog(nd_socklb_prog kind, struct bpf_sock_addr *ctx) {
        struct bpf_insn insns[ND_SOCKLB_INSNS_MAX];
        size_t n = nd_socklb_prog_build(kind, SVC_FD, REV_FD, insns);
        return run(insns, n, ctx);
}

static struct bpf_sock_addr sa(const char *ip, int proto) {
        return (struct bpf_sock_addr) { .user_family = AF_INET, .user_ip4 = inet_addr(ip), .user_port = htons(80),
                                        .family = AF_INET, .protocol = (uint32_t) proto };
}

static const char *const three[] = { "10.0.0.5", "10.0.0.6", "10.0.0.7" };

/* ---- tests ---- */

static void test_encode(void **state) {
        struct nd_socklb_value v;
        uint32_t be[ND_SOCKLB_BACKENDS_MAX + 10];

        uint32_t dup[] = { 5, 6, 5, 0, 7, 6 };
        assert_int_equal(nd_socklb_value_encode(dup, 6, &v), 3);
        assert_int_equal(v.n, 3);
        assert_int_equal(v.be[0], 5);
        assert_int_equal(v.be[1], 6);
        assert_int_equal(v.be[2], 7);
        assert_int_equal(v.be[3], 0);
        assert_int_equal(nd_socklb_value_encode(NULL, 0, &v), 0);
        for (size_t i = 0; i < ND_SOCKLB_BACKENDS_MAX + 10; i++)
                be[i] = (uint32_t) i + 1;
        assert_int_equal(nd_socklb_value_encode(be, ND_SOCKLB_BACKENDS_MAX + 10, &v), ND_SOCKLB_BACKENDS_MAX);
        assert_int_equal(v.be[ND_SOCKLB_BACKENDS_MAX - 1], ND_SOCKLB_BACKENDS_MAX);
}

/* every program: within bounds, jumps forward and inside, ends in exit,
 * writes the context only at user_ip4 */
static void test_shape(void **state) {
        struct bpf_insn insns[ND_SOCKLB_INSNS_MAX];
        for (int k = 0; k < _ND_SOCKLB_PROG_MAX; k++) {
                size_t n = nd_socklb_prog_build((nd_socklb_prog) k, SVC_FD, REV_FD, insns);
                assert_true(n > 4 && n <= ND_SOCKLB_INSNS_MAX);
                assert_int_equal(insns[n - 1].code, BPF_JMP | BPF_EXIT);
                assert_non_null(nd_socklb_prog_name((nd_socklb_prog) k));
                assert_true(strlen(nd_socklb_prog_name((nd_socklb_prog) k)) < BPF_OBJ_NAME_LEN);
                for (size_t i = 0; i < n; i++) {
                        uint8_t c = insns[i].code;
                        if (BPF_CLASS(c) == BPF_JMP && BPF_OP(c) != BPF_CALL && BPF_OP(c) != BPF_EXIT) {
                                assert_true(insns[i].off >= 0);
                                assert_true(i + 1 + (size_t) insns[i].off < n);
                        }
                        if (BPF_CLASS(c) == BPF_STX && insns[i].dst_reg == 6)
                                assert_int_equal(insns[i].off, offsetof(struct bpf_sock_addr, user_ip4));
                }
        }
        assert_int_equal(nd_socklb_prog_attach_type(ND_SOCKLB_CONNECT4), BPF_CGROUP_INET4_CONNECT);
        assert_int_equal(nd_socklb_prog_attach_type(ND_SOCKLB_GETPEERNAME4), BPF_CGROUP_INET4_GETPEERNAME);
}

static void test_connect(void **state) {
        struct bpf_sock_addr c;
        uint32_t *vip;
        uint8_t key[16] = {0};

        reset();
        svc_add("10.0.0.100", three, 3);
        prandom = 4; /* 4 % 3: the second */
        c = sa("10.0.0.100", IPPROTO_TCP);
        assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.6"));
        assert_int_equal(c.user_port, htons(80));
        /* the socket remembers the VIP behind its backend */
        memcpy(key, &cookie, 8);
        uint32_t b = inet_addr("10.0.0.6");
        memcpy(key + 8, &b, 4);
        assert_non_null(vip = lookup(REV_FD, key));
        assert_int_equal(*vip, inet_addr("10.0.0.100"));

        /* UDP connect too; not ICMP (nftables keeps it) nor other addresses */
        c = sa("10.0.0.100", IPPROTO_UDP);
        prandom = 2;
        assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.7"));
        c = sa("10.0.0.100", IPPROTO_ICMP);
        assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.100"));
        size_t before = n_rev;
        c = sa("10.0.0.5", IPPROTO_TCP);
        assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.5"));
        assert_int_equal(n_rev, before);

        /* a VIP with no backend: left to nftables (which refuses) */
        svc_add("10.0.0.101", NULL, 0);
        c = sa("10.0.0.101", IPPROTO_TCP);
        assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.101"));
}

static void test_sendmsg_per_socket(void **state) {
        struct bpf_sock_addr c;

        reset();
        svc_add("10.0.0.100", three, 3);
        cookie = 0x100000002ULL; /* (2 ^ 1) % 3 = 0 */
        for (int k = 0; k < 3; k++) {
                prandom = (uint32_t) k; /* not used: the same backend each time */
                c = sa("10.0.0.100", IPPROTO_UDP);
                assert_int_equal(run_prog(ND_SOCKLB_SENDMSG4, &c), 1);
                assert_int_equal(c.user_ip4, inet_addr("10.0.0.5"));
        }
        assert_int_equal(n_rev, 1);
        cookie = 5; /* 5 % 3 = 2 */
        c = sa("10.0.0.100", IPPROTO_UDP);
        assert_int_equal(run_prog(ND_SOCKLB_SENDMSG4, &c), 1);
        assert_int_equal(c.user_ip4, inet_addr("10.0.0.7"));
}

static void test_reverse(void **state) {
        struct bpf_sock_addr c;

        for (int k = ND_SOCKLB_RECVMSG4; k <= ND_SOCKLB_GETPEERNAME4; k++) {
                reset();
                svc_add("10.0.0.100", three, 3);
                prandom = 0;
                c = sa("10.0.0.100", IPPROTO_TCP);
                assert_int_equal(run_prog(ND_SOCKLB_CONNECT4, &c), 1);
                assert_int_equal(c.user_ip4, inet_addr("10.0.0.5"));
                /* the peer as the kernel has it: the backend; shown: the VIP */
                c = sa("10.0.0.5", IPPROTO_TCP);
                assert_int_equal(run_prog((nd_socklb_prog) k, &c), 1);
                assert_int_equal(c.user_ip4, inet_addr("10.0.0.100"));
                /* another socket talking to the task directly keeps it */
                cookie++;
                c = sa("10.0.0.5", IPPROTO_TCP);
                assert_int_equal(run_prog((nd_socklb_prog) k, &c), 1);
                assert_int_equal(c.user_ip4, inet_addr("10.0.0.5"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_encode),
                cmocka_unit_test(test_shape),
                cmocka_unit_test(test_connect),
                cmocka_unit_test(test_sendmsg_per_socket),
                cmocka_unit_test(test_reverse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
