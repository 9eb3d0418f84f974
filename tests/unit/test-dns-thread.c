/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded DNS on a thread of its own (server.h, Threads): it answers
 * while the caller runs no loop at all, a name replaced under
 * nd_dns_hold never answers NXDOMAIN to a query that lands in between,
 * and a sandbox closed while queries flow is closed cleanly.  Listens at
 * 127.0.0.11 on a port the kernel picks, in the test's own namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "names.h"
#include "server.h"

struct fixture {
        nd_dns *dns;
        nd_dns_sandbox *sb;
        uint16_t port;
};

static int setup(void **state) {
        static struct fixture f;
        uint16_t up = 0, tp = 0;
        memset(&f, 0, sizeof(f));
        if (nd_dns_new(NULL, &(nd_dns_config) { .resolv_conf = "/dev/null", .own_thread = true }, &f.dns) < 0)
                return -1;
        int ufd = nd_dns_sandbox_socket(SOCK_DGRAM, 0, &up);
        int tfd = nd_dns_sandbox_socket(SOCK_STREAM, 0, &tp);
        if (ufd < 0 || tfd < 0)
                return -1;
        if (nd_dns_sandbox_adopt(f.dns, ufd, up, tfd, tp, &f.sb) < 0)
                return -1;
        const char *nets[] = { "n1" };
        if (nd_dns_sandbox_configure(f.sb, nets, 1, false, NULL, 0, 60) < 0)
                return -1;
        f.port = up;
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        nd_dns_sandbox_close(f->sb);
        nd_dns_free(f->dns);
        return 0;
}

/* One A query for @name: its rcode and answer count, or -1 (no answer in
 * a second). */
static int ask(int fd, uint16_t id, const char *name, int *ancount) {
        uint8_t q[512], r[512];
        size_t n = 12;
        memset(q, 0, 12);
        q[0] = (uint8_t) (id >> 8);
        q[1] = (uint8_t) id;
        q[2] = 0x01; /* RD */
        q[5] = 1;    /* one question */
        for (const char *p = name; *p;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t) (dot - p) : strlen(p);
                q[n++] = (uint8_t) l;
                memcpy(q + n, p, l);
                n += l;
                p += l + (dot ? 1 : 0);
        }
        q[n++] = 0;
        q[n++] = 0, q[n++] = 1; /* A */
        q[n++] = 0, q[n++] = 1; /* IN */
        if (send(fd, q, n, 0) != (ssize_t) n)
                return -1;
        for (;;) {
                ssize_t k = recv(fd, r, sizeof(r), 0);
                if (k < 12)
                        return -1;
                if (r[0] != q[0] || r[1] != q[1])
                        continue; /* a late answer to an earlier query */
                *ancount = (r[6] << 8) | r[7];
                return r[3] & 0x0f;
        }
}

static int client(uint16_t port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        struct timeval tv = { .tv_sec = 1 };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        inet_pton(AF_INET, "127.0.0.11", &sa.sin_addr);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void set_web(nd_dns *d, unsigned i) {
        nd_addr a;
        char s[32];
        snprintf(s, sizeof(s), "10.0.%u.%u", (i / 250) % 250, 1 + i % 250);
        assert_int_equal(nd_addr_parse(s, &a), 0);
        nd_dns_hold(d);
        nd_dns_names_drop(nd_dns_table(d), "owner");
        /* the window a query would land in without the hold, made wide
         * enough to be hit (the core builds the new names meanwhile) */
        usleep(20);
        assert_int_equal(nd_dns_names_add(nd_dns_table(d), "n1", "web", &a, NULL, "owner"), 0);
        nd_dns_release(d);
}

/* No loop runs on this thread: the answers come from the service's. */
static void test_answers_without_the_callers_loop(void **state) {
        struct fixture *f = *state;
        int an = 0, fd = client(f->port);
        assert_true(fd >= 0);
        set_web(f->dns, 0);
        assert_int_equal(ask(fd, 1, "web", &an), 0);
        assert_int_equal(an, 1);
        int rc = ask(fd, 2, "nosuch", &an); /* not forwarded: no sandbox here may */
        assert_true(rc > 0);
        assert_int_equal(an, 0);
        close(fd);
}

struct asker {
        uint16_t port;
        atomic_bool stop;
        atomic_uint asked;        /* read by the test's thread while it asks */
        unsigned nxdomain, lost, wrong;
};

static void *asker_main(void *arg) {
        struct asker *a = arg;
        int fd = client(a->port), an = 0;
        for (uint16_t id = 1; fd >= 0 && !atomic_load(&a->stop); id++) {
                int rc = ask(fd, id, "web", &an);
                a->asked++;
                if (rc < 0)
                        a->lost++;
                else if (rc == 3)
                        a->nxdomain++;
                else if (rc != 0 || an != 1)
                        a->wrong++;
        }
        if (fd >= 0)
                close(fd);
        return NULL;
}

/* The name replaced 5000 times while another thread asks for it: every
 * answer has exactly the one address, none says the name does not exist. */
static void test_replace_is_atomic(void **state) {
        struct fixture *f = *state;
        struct asker a = { .port = f->port };
        pthread_t t;
        set_web(f->dns, 0);
        assert_int_equal(pthread_create(&t, NULL, asker_main, &a), 0);
        for (unsigned i = 1; i <= 5000 || atomic_load(&a.asked) < 200; i++)
                set_web(f->dns, i);
        atomic_store(&a.stop, true);
        pthread_join(t, NULL);
        print_message("# %u queries during the replacements: %u NXDOMAIN, %u wrong, %u lost\n",
                      atomic_load(&a.asked), a.nxdomain, a.wrong, a.lost);
        assert_true(a.asked >= 200);
        assert_int_equal(a.nxdomain, 0);
        assert_int_equal(a.wrong, 0);
        assert_int_equal(a.lost, 0);
}

/* A second sandbox opened and closed from this thread while the first is
 * asked: the first keeps answering, the closed one no longer does. */
static void test_open_close_while_serving(void **state) {
        struct fixture *f = *state;
        struct asker a = { .port = f->port };
        pthread_t t;
        set_web(f->dns, 7);
        assert_int_equal(pthread_create(&t, NULL, asker_main, &a), 0);
        uint16_t last = 0;
        /* 200 rounds, and more until the asker got 20 answers in (on a busy
         * machine it may not have run yet when the 200 are done) */
        for (int i = 0; i < 200 || (atomic_load(&a.asked) < 20 && i < 100000); i++) {
                uint16_t up = 0, tp = 0;
                nd_dns_sandbox *sb = NULL;
                int ufd = nd_dns_sandbox_socket(SOCK_DGRAM, 0, &up), tfd = nd_dns_sandbox_socket(SOCK_STREAM, 0, &tp);
                assert_true(ufd >= 0 && tfd >= 0);
                assert_int_equal(nd_dns_sandbox_adopt(f->dns, ufd, up, tfd, tp, &sb), 0);
                const char *nets[] = { "n1" };
                assert_int_equal(nd_dns_sandbox_configure(sb, nets, 1, false, NULL, 0, 60), 0);
                if (i == 199) {
                        int an = 0, fd = client(up);
                        assert_int_equal(ask(fd, 9, "web", &an), 0); /* a new sandbox answers at once */
                        assert_int_equal(an, 1);
                        close(fd);
                }
                last = up;
                nd_dns_sandbox_close(sb);
        }
        atomic_store(&a.stop, true);
        pthread_join(t, NULL);
        assert_true(a.asked > 0);
        assert_int_equal(a.lost + a.nxdomain + a.wrong, 0);
        /* the last one is closed: nothing listens on its port */
        int an = 0, fd = client(last);
        struct timeval tv = { .tv_usec = 200000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        assert_int_equal(ask(fd, 10, "web", &an), -1);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_answers_without_the_callers_loop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace_is_atomic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_close_while_serving, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
