/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports (netd/core/publish.c, netd/core/service-ports.c) on a
 * bare nd_manager: the owner registry, choosing host ports, holding them
 * with real sockets (high ports below the ephemeral range, no root
 * needed), services as an owner, and their routing-mesh elements.
 *
 * The firewall is faked at link time: nd_fw_owner_new/_set/_free are
 * wrapped (-Wl,--wrap) to record what publish.c programs, so a manager
 * whose m->fw is a non-NULL token behaves as one with nftables; m->fw NULL
 * is the host without nftables.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "diag.h"
#include "firewall.h"
#include "json-util.h"
#include "manager-internal.h"
#include "network.h"
#include "service.h"

/* ports of this test: below the ephemeral range, so no connection of
 * this host takes one of them meanwhile */
#define P0 29450
#define N_PORTS 12

/* ---- the fake firewall (wrapped symbols) ---- */

static struct {
        int news, frees, sets, set_r;
        size_t last_n;
        char last_what[128];
} fw;

static char fw_token;

nd_fw_owner *__wrap_nd_fw_owner_new(nd_fw *f, const char *what);
void __wrap_nd_fw_owner_free(nd_fw *f, nd_fw_owner *o);
int __wrap_nd_fw_owner_set(nd_fw *f, nd_fw_owner *o, const nd_nft_elem *elems, size_t n);

nd_fw_owner *__wrap_nd_fw_owner_new(nd_fw *f, const char *what) {
        assert_ptr_equal(f, &fw_token);
        fw.news++;
        snprintf(fw.last_what, sizeof(fw.last_what), "%s", what);
        return malloc(1);
}

void __wrap_nd_fw_owner_free(nd_fw *f, nd_fw_owner *o) {
        assert_ptr_equal(f, &fw_token);
        fw.frees++;
        free(o);
}

int __wrap_nd_fw_owner_set(nd_fw *f, nd_fw_owner *o, const nd_nft_elem *elems, size_t n) {
        assert_ptr_equal(f, &fw_token);
        assert_non_null(o);
        fw.sets++;
        fw.last_n = n;
        return fw.set_r;
}

/* ---- fake owners: each claims one port, and records being asked ---- */

struct owner {
        char name[16];
        uint16_t port;
        const nd_published *last_self;
};

static char calls[64];
static size_t n_calls;

static const char *owner_holder(void *u, const nd_published *self, const nd_port_binding *b, char *buf, size_t size) {
        struct owner *o = u;
        if (n_calls < sizeof(calls) - 1)
                calls[n_calls++] = o->name[0];
        o->last_self = self;
        if (b->host_port != o->port)
                return NULL;
        snprintf(buf, size, "sandbox '%s'", o->name);
        return buf;
}

static void owner_restore(void *u) {
        struct owner *o = u;
        if (n_calls < sizeof(calls) - 1)
                calls[n_calls++] = (char) toupper(o->name[0]);
}

static const nd_port_owner_ops owner_ops = { .holder = owner_holder, .restore = owner_restore };

/* ---- fixtures and helpers ---- */

static int setup(void **state) {
        nd_manager *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        m->fw = (nd_fw *) &fw_token;
        m->port_lo = P0;
        m->port_hi = P0 + 3;
        memset(&fw, 0, sizeof(fw));
        memset(calls, 0, sizeof(calls));
        n_calls = 0;
        *state = m;
        return 0;
}

static int teardown(void **state) {
        free(*state);
        return 0;
}

/* Can someone else bind 127.0.0.1:@port/tcp now? */
static bool port_free(uint16_t port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        bool ok = bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

static int group_setup(void **state) {
        for (uint16_t p = P0; p < P0 + N_PORTS; p++)
                if (!port_free(p)) {
                        fprintf(stderr, "port %u is in use on this host: cannot run\n", p);
                        return -1;
                }
        return 0;
}

/* 127.0.0.1:@lo[-@hi]:@ctr/tcp; @lo 0: dynamic */
static nd_port_spec spec(uint16_t lo, uint16_t hi, uint16_t ctr) {
        nd_port_spec s = { .proto = IPPROTO_TCP, .host_lo = lo, .host_hi = hi, .ctr = ctr };
        assert_int_equal(nd_addr_parse("127.0.0.1", &s.host_ip), 0);
        return s;
}

static nd_port_spec fixed(uint16_t port, uint16_t ctr) {
        return spec(port, port, ctr);
}

static nd_port_spec dynamic(uint16_t ctr) {
        return spec(0, 0, ctr);
}

static int publish(nd_manager *m, nd_published *p, const nd_port_spec *s, size_t n, nd_diag *d) {
        nd_addr a4;
        assert_int_equal(nd_addr_parse("10.9.0.2", &a4), 0);
        return nd_publish(m, p, "container 'x'", s, n, &a4, &(nd_addr) { 0 }, true, d);
}

static uint16_t publish_one(nd_manager *m, nd_published *p, nd_port_spec s) {
        nd_diag d = {0};
        assert_int_equal(publish(m, p, &s, 1, &d), 0);
        assert_int_equal(p->n_bindings, 1);
        return p->bindings[0].host_port;
}

/* ---- tests ---- */

static void test_owner_registry(void **state) {
        nd_manager *m = *state;
        struct owner o[ND_OWNERS_MAX + 1];

        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &o[0]), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &o[0]), 0); /* once only */
        assert_int_equal(m->n_port_owners, 1);
        for (size_t i = 1; i < ND_OWNERS_MAX; i++)
                assert_int_equal(nd_publish_owner_add(m, &owner_ops, &o[i]), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &o[ND_OWNERS_MAX]), -ENOSPC);
        assert_int_equal(m->n_port_owners, ND_OWNERS_MAX);
}

/* A port another owner publishes is refused with its name; the others
 * are asked in the order they registered, until one answers. */
static void test_owner_refuses(void **state) {
        nd_manager *m = *state;
        struct owner a = { .name = "alpha", .port = P0 + 1 }, b = { .name = "beta", .port = P0 + 1 },
                     c = { .name = "gamma", .port = P0 + 2 };
        nd_published p = {0};
        nd_diag d = {0};
        char want[128];

        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &a), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &b), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &c), 1);

        nd_port_spec s = fixed(P0 + 1, 80);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already published by sandbox 'alpha'", P0 + 1);
        assert_string_equal(d.msg, want);
        assert_string_equal(calls, "a");      /* beta never asked */
        assert_ptr_equal(a.last_self, &p);    /* told who asks */
        assert_int_equal(p.n_bindings, 0);
        assert_true(port_free(P0 + 1));
        assert_int_equal(fw.news, 0);

        n_calls = 0;
        memset(calls, 0, sizeof(calls));
        s = fixed(P0 + 2, 80);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already published by sandbox 'gamma'", P0 + 2);
        assert_string_equal(d.msg, want);
        assert_string_equal(calls, "abg");

        /* nobody holds it: everyone asked, in order, and it is ours */
        n_calls = 0;
        memset(calls, 0, sizeof(calls));
        assert_int_equal(publish_one(m, &p, fixed(P0 + 3, 80)), P0 + 3);
        assert_string_equal(calls, "abg");
        assert_false(port_free(P0 + 3));
        nd_publish_release(m, &p);
        assert_true(port_free(P0 + 3));

        /* a dynamic port skips the ports owners hold */
        m->port_lo = P0 + 1;
        m->port_hi = P0 + 3;
        assert_int_equal(publish_one(m, &p, dynamic(80)), P0 + 3);
        nd_publish_release(m, &p);
}

/* Containers are an owner too (nd_ports_register): its message names the
 * container, and comes before the socket's own refusal. */
static void test_containers_owner(void **state) {
        nd_manager *m = *state;
        nd_container *c = calloc(1, sizeof(*c));
        nd_published p = {0};
        nd_diag d = {0};
        char want[128];

        assert_non_null(c);
        snprintf(c->name, sizeof(c->name), "web");
        m->cts = &c;
        m->n_cts = 1;
        assert_int_equal(nd_ports_register(m), 1);
        assert_int_equal(nd_ports_register(m), 0);
        assert_int_equal(publish_one(m, &c->pub, fixed(P0, 80)), P0);
        nd_port_spec s = fixed(P0, 8080);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already published by container 'web'", P0);
        assert_string_equal(d.msg, want);
        /* the container itself may publish it again (replacing its own) */
        assert_int_equal(publish_one(m, &c->pub, fixed(P0, 80)), P0);
        nd_publish_release(m, &c->pub);
        assert_true(port_free(P0));
        free(c);
}

static void test_restore_order(void **state) {
        nd_manager *m = *state;
        struct owner a = { .name = "alpha" }, b = { .name = "beta" }, c = { .name = "gamma" };

        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &b), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &a), 1);
        assert_int_equal(nd_publish_owner_add(m, &owner_ops, &c), 1);
        nd_manager_ports_restore(m);
        assert_string_equal(calls, "BAG");
}

/* Dynamic ports come from port_lo..port_hi, after the last one given. */
static void test_dynamic(void **state) {
        nd_manager *m = *state;
        nd_published p = {0}, q = {0}, r = {0}, s = {0}, t = {0}, u = {0};
        nd_port_spec two[] = { dynamic(80), dynamic(81) };
        nd_diag d = {0};
        char want[128];

        assert_int_equal(publish(m, &p, two, 2, &d), 0);
        assert_int_equal(p.n_bindings, 2);
        assert_int_equal(p.bindings[0].host_port, P0);
        assert_int_equal(p.bindings[1].host_port, P0 + 1);
        assert_int_equal(p.bindings[1].ctr_port, 81);
        assert_false(port_free(P0));           /* held */
        assert_false(port_free(P0 + 1));
        assert_non_null(p.fds);
        assert_int_equal(publish_one(m, &q, dynamic(80)), P0 + 2);
        /* released, but not handed out again at once */
        nd_publish_release(m, &p);
        assert_true(port_free(P0));
        assert_int_equal(publish_one(m, &r, dynamic(80)), P0 + 3);
        assert_int_equal(publish_one(m, &s, dynamic(80)), P0);        /* wrapped around */
        assert_int_equal(publish_one(m, &t, dynamic(80)), P0 + 1);
        nd_port_spec one = dynamic(90);
        assert_int_equal(publish(m, &u, &one, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "no free host port in %u-%u for port 90/tcp of container 'x'", P0, P0 + 3);
        assert_string_equal(d.msg, want);
        assert_int_equal(u.n_bindings, 0);
        /* a range: any free port of it, from its start; port_next stays */
        assert_int_equal(publish_one(m, &u, spec(P0 + 2, P0 + 5, 90)), P0 + 4);
        assert_int_equal(m->port_next, P0 + 2);
        nd_published *all[] = { &q, &r, &s, &t, &u };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                nd_publish_release(m, all[i]);
        for (uint16_t port = P0; port < P0 + 5; port++)
                assert_true(port_free(port));
        assert_int_equal(fw.news, fw.frees);
}

/* A port another process holds is skipped, or refused when asked for. */
static void test_other_process(void **state) {
        nd_manager *m = *state;
        nd_published p = {0};
        nd_diag d = {0};
        char want[128];
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(P0) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(publish_one(m, &p, dynamic(80)), P0 + 1);
        nd_port_spec s = fixed(P0, 80);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already in use by another process", P0);
        assert_string_equal(d.msg, want);
        /* publishing again released what it had */
        assert_int_equal(p.n_bindings, 0);
        assert_true(port_free(P0 + 1));
        close(fd);
        assert_int_equal(publish_one(m, &p, fixed(P0, 80)), P0);
        nd_publish_release(m, &p);
}

/* One request may not give a host port twice; what it took stays out of
 * the choice for its own later specs. */
static void test_given_twice(void **state) {
        nd_manager *m = *state;
        nd_published p = {0};
        nd_diag d = {0};
        char want[128];

        nd_port_spec twice[] = { fixed(P0 + 6, 80), fixed(P0 + 6, 81) };
        assert_int_equal(publish(m, &p, twice, 2, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is given twice", P0 + 6);
        assert_string_equal(d.msg, want);
        assert_int_equal(p.n_bindings, 0);
        assert_true(port_free(P0 + 6));   /* the first one let go again */

        /* every address clashes with one address */
        nd_port_spec any = fixed(P0 + 6, 80);
        any.host_ip = (nd_addr) { 0 };
        nd_port_spec wide[] = { any, fixed(P0 + 6, 81) };
        assert_int_equal(publish(m, &p, wide, 2, &d), -EADDRINUSE);
        assert_string_equal(d.msg, want);

        /* another protocol is another port */
        nd_port_spec both[] = { fixed(P0 + 6, 80), fixed(P0 + 6, 80) };
        both[1].proto = IPPROTO_UDP;
        assert_int_equal(publish(m, &p, both, 2, &d), 0);
        assert_int_equal(p.n_bindings, 2);
        nd_publish_release(m, &p);

        /* a range after a fixed port of the same request takes the next */
        nd_port_spec ranged[] = { fixed(P0 + 6, 80), spec(P0 + 6, P0 + 7, 81) };
        assert_int_equal(publish(m, &p, ranged, 2, &d), 0);
        assert_int_equal(p.bindings[0].host_port, P0 + 6);
        assert_int_equal(p.bindings[1].host_port, P0 + 7);
        nd_publish_release(m, &p);
        assert_true(port_free(P0 + 6));
        assert_true(port_free(P0 + 7));
}

static void test_release_reclaim(void **state) {
        nd_manager *m = *state;
        nd_published p = {0}, q = {0};
        nd_diag d = {0};
        char want[128];

        assert_int_equal(publish_one(m, &p, fixed(P0 + 8, 80)), P0 + 8);
        assert_int_equal(fw.news, 1);
        assert_string_equal(fw.last_what, "container 'x'");
        nd_port_spec s = fixed(P0 + 8, 80);
        assert_int_equal(publish(m, &q, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already in use by another process", P0 + 8);
        assert_string_equal(d.msg, want);
        nd_publish_release(m, &p);
        assert_null(p.fw);
        assert_int_equal(fw.frees, 1);
        assert_int_equal(publish_one(m, &q, fixed(P0 + 8, 80)), P0 + 8);
        assert_false(port_free(P0 + 8));
        nd_publish_release(m, &q);
        nd_publish_release(m, &q); /* twice: nothing */
        assert_int_equal(fw.frees, 2);
        assert_true(port_free(P0 + 8));
}

/* What is programmed, a programming failure, and without @hold. */
static void test_program(void **state) {
        nd_manager *m = *state;
        nd_published p = {0};
        nd_diag d = {0};
        nd_port_spec two[] = { fixed(P0 + 9, 80), fixed(P0 + 10, 81) };

        assert_int_equal(publish(m, &p, two, 2, &d), 0);
        assert_int_equal(fw.sets, 1);
        assert_int_equal(fw.last_n, 4);        /* one IPv4 DNAT element and its container end each */
        /* an address change: reprogrammed, no address: no elements */
        assert_int_equal(nd_publish_program(m, &p, "container 'x'", &(nd_addr) { 0 }, &(nd_addr) { 0 }), 0);
        assert_int_equal(fw.sets, 2);
        assert_int_equal(fw.last_n, 0);
        assert_int_equal(fw.news, 1);
        nd_publish_release(m, &p);

        fw.set_r = -EIO;
        assert_int_equal(publish(m, &p, two, 2, &d), -EIO);
        assert_string_equal(d.msg, "programming nftables for container 'x' failed: Input/output error");
        assert_int_equal(p.n_bindings, 0);
        assert_null(p.fw);
        assert_true(port_free(P0 + 9));
        assert_true(port_free(P0 + 10));
        assert_int_equal(fw.news, fw.frees);
        fw.set_r = 0;

        /* only probed: the runtime binds them itself */
        nd_addr a4;
        assert_int_equal(nd_addr_parse("10.9.0.2", &a4), 0);
        assert_int_equal(nd_publish(m, &p, "pod 'y'", two, 2, &a4, &(nd_addr) { 0 }, false, &d), 0);
        assert_int_equal(p.n_bindings, 2);
        assert_null(p.fds);
        assert_true(port_free(P0 + 9));
        /* after a restart: held and programmed again */
        int sets = fw.sets;
        nd_publish_restore(m, &p, "pod 'y'", &a4, &(nd_addr) { 0 }, true);
        assert_non_null(p.fds);
        assert_false(port_free(P0 + 9));
        assert_false(port_free(P0 + 10));
        assert_int_equal(fw.sets, sets + 1);
        assert_int_equal(fw.last_n, 4);
        nd_publish_release(m, &p);
        assert_true(port_free(P0 + 9));
}

/* No nftables on this host: publishing is refused, nothing is held. */
static void test_no_firewall(void **state) {
        nd_manager *m = *state;
        nd_published p = {0};
        nd_diag d = {0};
        nd_port_spec s = fixed(P0 + 11, 80);

        m->fw = NULL;
        assert_int_equal(publish(m, &p, NULL, 0, &d), 0);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EOPNOTSUPP);
        assert_string_equal(d.msg, "container 'x' publishes ports, but netd runs without nftables on this host "
                                   "(see its log)");
        assert_int_equal(p.n_bindings, 0);
        assert_true(port_free(P0 + 11));
        assert_int_equal(nd_publish_program(m, &p, "container 'x'", &(nd_addr) { 0 }, &(nd_addr) { 0 }),
                         -EOPNOTSUPP);
        /* a record's bindings are not held again */
        p.bindings = calloc(1, sizeof(*p.bindings));
        assert_non_null(p.bindings);
        p.bindings[0] = (nd_port_binding) { .proto = IPPROTO_TCP, .host_ip = s.host_ip, .host_port = P0 + 11,
                                            .ctr_port = 80 };
        p.n_bindings = 1;
        nd_publish_restore(m, &p, "container 'x'", &(nd_addr) { 0 }, &(nd_addr) { 0 }, true);
        assert_null(p.fds);
        assert_true(port_free(P0 + 11));
        nd_publish_release(m, &p);
        assert_int_equal(fw.news + fw.sets + fw.frees, 0);
}

/* ---- services (service-ports.c) ---- */

struct svc_world {
        nd_network *net;
        struct net_slot slot;
        nd_container *c;
};

static void svc_world_init(nd_manager *m, struct svc_world *w, bool internal) {
        const char *text = internal ? "{\"Name\":\"front\",\"Internal\":true}" : "{\"Name\":\"front\"}";
        json_t *j = NULL;
        nd_network_spec spec;
        nd_diag d = {0};
        char id[ND_ID_LEN + 1];

        assert_int_equal(nd_json_parse_object(text, strlen(text), &j, &d), 0);
        assert_int_equal(nd_network_spec_from_json(j, &spec, &d), 0);
        json_decref(j);
        assert_int_equal(nd_id_new(id), 0);
        assert_int_equal(nd_network_new(&spec, id, 1, &w->net, &d), 0);
        w->net->committed = true;
        w->slot = (struct net_slot) { .net = w->net };
        m->nets = &w->slot;
        m->n_nets = 1;
        w->c = calloc(1, sizeof(*w->c));
        assert_non_null(w->c);
        snprintf(w->c->name, sizeof(w->c->name), "web");
        m->cts = &w->c;
        m->n_cts = 1;
        assert_int_equal(nd_ports_register(m), 1);
        assert_int_equal(nd_svc_ports_register(m), 1);
        assert_int_equal(nd_svc_ports_register(m), 0);
}

static void svc_world_done(nd_manager *m, struct svc_world *w) {
        nd_publish_release(m, &w->c->pub);
        free(w->c);
        nd_svc_ports_free(m);
        nd_network_free(w->net);
        m->nets = NULL;
        m->n_nets = 0;
        m->cts = NULL;
        m->n_cts = 0;
}

/* A service named @name on the world's network publishing @ports. */
static nd_service *svc(const struct svc_world *w, const char *name, const char *ports) {
        char text[512];
        json_t *j = NULL;
        nd_service *rec = NULL;
        nd_diag d = {0};

        snprintf(text, sizeof(text), "{\"Name\":\"%s\",\"Networks\":[\"front\"],\"Ports\":[%s]}", name, ports);
        assert_int_equal(nd_json_parse_object(text, strlen(text), &j, &d), 0);
        assert_int_equal(nd_service_spec_parse(j, &rec, &d), 0);
        json_decref(j);
        assert_int_equal(nd_id_new(rec->id), 0);
        free(rec->nets[0].net);
        rec->nets[0].net = strdup(w->net->id);
        assert_non_null(rec->nets[0].net);
        return rec;
}

static bool udp_free(uint16_t port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        bool ok = bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        close(fd);
        return ok;
}

/* A service holds its ports on every address; a container, another
 * service or a host process holding one makes its claim fail naming
 * the holder, and a container is refused a service's port. */
static void test_service_ports(void **state) {
        nd_manager *m = *state;
        struct svc_world w;
        nd_published p = {0};
        nd_diag d = {0};
        char ports[128], want[128];

        svc_world_init(m, &w, false);
        assert_int_equal(publish_one(m, &w.c->pub, fixed(P0 + 1, 80)), P0 + 1);

        _cleanup_(nd_service_freep) nd_service *a = NULL, *b = NULL, *c = NULL, *e = NULL;
        snprintf(ports, sizeof(ports), "\"%u:80\", \"mode=host,%u:53/udp\"", P0 + 2, P0 + 2);
        a = svc(&w, "alpha", ports);
        assert_int_equal(nd_svc_ports_claim(m, a, &d), 0);
        assert_false(port_free(P0 + 2));       /* 0.0.0.0 and :: held */
        assert_false(udp_free(P0 + 2));
        assert_int_equal(m->n_svc_pubs, 1);
        /* again: replaces what it had */
        assert_int_equal(nd_svc_ports_claim(m, a, &d), 0);
        assert_int_equal(m->n_svc_pubs, 1);

        /* a container's port */
        snprintf(ports, sizeof(ports), "\"%u:80\"", P0 + 1);
        b = svc(&w, "beta", ports);
        assert_int_equal(nd_svc_ports_claim(m, b, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "port %u/tcp is already published by container 'web'", P0 + 1);
        assert_string_equal(d.msg, want);
        /* another service's, whatever the mode; what it took first is let go */
        snprintf(ports, sizeof(ports), "\"%u:80\", \"mode=host,%u:81\"", P0 + 3, P0 + 2);
        c = svc(&w, "gamma", ports);
        assert_int_equal(nd_svc_ports_claim(m, c, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "port %u/tcp is already published by service 'alpha'", P0 + 2);
        assert_string_equal(d.msg, want);
        assert_true(port_free(P0 + 3));
        assert_int_equal(m->n_svc_pubs, 1);
        /* a container asking for a service's port */
        nd_port_spec s = fixed(P0 + 2, 80);
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "host port 127.0.0.1:%u/tcp is already published by service 'alpha'", P0 + 2);
        assert_string_equal(d.msg, want);

        /* a host process */
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(P0 + 3) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        snprintf(ports, sizeof(ports), "\"%u:80\"", P0 + 3);
        e = svc(&w, "delta", ports);
        assert_int_equal(nd_svc_ports_claim(m, e, &d), -EADDRINUSE);
        snprintf(want, sizeof(want), "port %u/tcp is in use on this host by another process", P0 + 3);
        assert_string_equal(d.msg, want);
        close(fd);
        assert_int_equal(nd_svc_ports_claim(m, e, &d), 0);
        assert_int_equal(m->n_svc_pubs, 2);

        /* rm: the ports are free again, for a container too */
        nd_svc_ports_drop(m, a->id);
        nd_svc_ports_drop(m, a->id);            /* twice: nothing */
        assert_true(port_free(P0 + 2));
        assert_true(udp_free(P0 + 2));
        assert_int_equal(publish_one(m, &p, fixed(P0 + 2, 80)), P0 + 2);
        nd_publish_release(m, &p);

        /* read back at start-up: known at once, held at restore */
        assert_int_equal(nd_svc_ports_adopt(m, a), 0);
        assert_true(port_free(P0 + 2));
        assert_int_equal(publish(m, &p, &s, 1, &d), -EADDRINUSE);
        nd_manager_ports_restore(m);
        assert_false(port_free(P0 + 2));
        assert_false(udp_free(P0 + 2));
        nd_svc_ports_free(m);
        assert_true(port_free(P0 + 2));
        assert_true(port_free(P0 + 3));
        svc_world_done(m, &w);
}

/* Refused before anything is held: no firewall, an internal network. */
static void test_service_ports_refused(void **state) {
        nd_manager *m = *state;
        struct svc_world w;
        nd_diag d = {0};
        char ports[64];

        svc_world_init(m, &w, true);
        snprintf(ports, sizeof(ports), "\"%u:80\"", P0 + 4);
        _cleanup_(nd_service_freep) nd_service *a = svc(&w, "alpha", ports), *none = svc(&w, "none", "");
        assert_int_equal(nd_svc_ports_claim(m, a, &d), -EINVAL);
        assert_string_equal(d.msg, "service 'alpha' publishes ports, but its first network 'front' is internal");
        assert_true(port_free(P0 + 4));
        assert_int_equal(nd_svc_ports_claim(m, none, &d), 0);  /* no ports: nothing to refuse */
        m->fw = NULL;
        assert_int_equal(nd_svc_ports_claim(m, a, &d), -EOPNOTSUPP);
        assert_string_equal(d.msg, "service 'alpha' publishes ports, but netd runs without nftables on this host "
                                   "(see its log)");
        assert_int_equal(m->n_svc_pubs, 0);
        svc_world_done(m, &w);
}

/* The mesh: an ingress port leads to every task, a host port to this
 * host's only, and to none without one. */
static void test_service_mesh_elems(void **state) {
        nd_network net = { .id = "00000000000000000000000000000000000000000000000000000000000000aa" };
        struct svc_world w = { .net = &net };
        nd_addr all[3], local[1];
        nd_nft_elem *out = calloc(2 * ND_SVC_SLOTS, sizeof(*out)), want;
        const char *a[] = { "10.9.0.2", "10.9.0.3", "10.9.0.4" };

        (void) state;
        assert_non_null(out);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(nd_addr_parse(a[i], &all[i]), 0);
        local[0] = all[1];
        _cleanup_(nd_service_freep) nd_service *rec = svc(&w, "web", "\"8080:80\", \"mode=host,53:5353/udp\"");

        assert_int_equal(nd_svc_ports_elems(rec, all, 3, local, 1, out), 2 * ND_SVC_SLOTS);
        for (uint32_t s = 0; s < ND_SVC_SLOTS; s++) {
                nd_nft_elem_mesh_slot(&want, IPPROTO_TCP, 8080, s, all[s % 3].b, 80);
                assert_true(nd_nft_elem_equal(&out[s], &want));
                nd_nft_elem_mesh_slot(&want, IPPROTO_UDP, 53, s, local[0].b, 5353);
                assert_true(nd_nft_elem_equal(&out[ND_SVC_SLOTS + s], &want));
        }
        /* no local task: the host port has no slots, the ingress port keeps its */
        assert_int_equal(nd_svc_ports_elems(rec, all, 3, local, 0, out), ND_SVC_SLOTS);
        nd_nft_elem_mesh_slot(&want, IPPROTO_TCP, 8080, 0, all[0].b, 80);
        assert_true(nd_nft_elem_equal(&out[0], &want));
        /* no task at all: nothing */
        assert_int_equal(nd_svc_ports_elems(rec, all, 0, local, 0, out), 0);
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_owner_registry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_containers_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restore_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dynamic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
                cmocka_unit_test_setup_teardown(test_given_twice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_release_reclaim, setup, teardown),
                cmocka_unit_test_setup_teardown(test_program, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_firewall, setup, teardown),
                cmocka_unit_test_setup_teardown(test_service_ports, setup, teardown),
                cmocka_unit_test_setup_teardown(test_service_ports_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_service_mesh_elems, setup, teardown),
        };
        return cmocka_run_group_tests(tests, group_setup, NULL);
}
