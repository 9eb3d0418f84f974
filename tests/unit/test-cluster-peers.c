/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster's peers (netd/cluster/cluster-peers.c) through two seams:
 * the local store stands in for etcd (nd_cluster_new_with takes it open,
 * in a temporary directory) and a fake tunnel kind stands in for the
 * kernel (overlay/tunnel.h), recording the peers it is given.  The test
 * writes the records a peer writes (nodes/, live/ on the peer's lease,
 * blocks/, endpoints/), runs the loop until the cluster has applied them
 * and checks the overlay's peers, the DNS names (the embedded DNS's name
 * table: nd_dns_new opens no socket) and the records the trust checks
 * refuse (RejectedRecords in the status).
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-dir.h"

#include "cluster.h"
#include "diag.h"
#include "json-util.h"
#include "keys.h"
#include "network.h"
#include "server.h"
#include "store.h"
#include "tunnel.h"

#define SELF "00000000000000000000000000000001"
#define PEER "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define OTHER "cccccccccccccccccccccccccccccccc"
#define NET "1111111111111111111111111111111111111111111111111111111111111111"
#define CT1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CT2 "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define PEER_VTEP "192.0.2.2"

static struct ev_loop *loop;

/* ---- the fake tunnel kind: what the overlay asks of the kernel ---- */

static struct {
        int ups, adds, dels;
        nd_overlay_peer last_add, last_del;
} tk;

static int fk_up(nd_ovl_net *n, const char *bridge, unsigned mtu) {
        tk.ups++;
        n->ifindex = 42;
        return 0;
}

static int fk_add(nd_ovl_net *n, const nd_overlay_peer *p) {
        tk.adds++;
        tk.last_add = *p;
        return 0;
}

static int fk_del(nd_ovl_net *n, const nd_overlay_peer *p) {
        tk.dels++;
        tk.last_del = *p;
        return 0;
}

static const nd_tunnel_ops fake_kind = {
        .kind = "fake",
        .encap = "fake",
        .prefix = "fk",
        .overhead = 50,
        .net_size = sizeof(nd_ovl_net),
        .net_up = fk_up,
        .peer_add = fk_add,
        .peer_del = fk_del,
};

static const nd_tunnel_ops *const kinds[_ND_TUNNEL_KIND_MAX] = {
        [ND_TUNNEL_VXLAN] = &fake_kind,
        [ND_TUNNEL_GRE] = &fake_kind,
};

/* ---- the network table the cluster serves ---- */

#define NETS_MAX 4
static nd_network *nets[NETS_MAX];
static size_t n_nets;

static int nets_find(void *u, const char *ref, nd_network **ret) {
        for (size_t i = 0; i < n_nets; i++)
                if (strcmp(nets[i]->id, ref) == 0 || strcmp(nets[i]->spec.name, ref) == 0) {
                        *ret = nets[i];
                        return 0;
                }
        return -ENOENT;
}

static size_t nets_list(void *u, nd_network ***ret) {
        *ret = nets;
        return n_nets;
}

static int nets_adopt(void *u, nd_network *n) {
        if (n_nets == NETS_MAX) {
                nd_network_free(n);
                return -ENOSPC;
        }
        nets[n_nets++] = n;
        return 0;
}

static void nets_forget(void *u, nd_network *n) {
        for (size_t i = 0; i < n_nets; i++)
                if (nets[i] == n) {
                        nets[i] = nets[--n_nets];
                        break;
                }
        nd_network_free(n);
}

static const nd_cluster_nets_ops nets_ops = {
        .find = nets_find, .list = nets_list, .adopt = nets_adopt, .forget = nets_forget,
};

/* ---- fixture: a store in a temporary directory, DNS, the cluster ---- */

static struct {
        char dir[64];
        nd_store *st;           /* the cluster's, once it is made */
        nd_dns *dns;
        nd_cluster *cl;
        int done, done_r;
        int64_t peer_lease, other_lease;
} f;

/* The store's callbacks wait for its writer thread's fdatasync, which takes
 * as long as the disk does: bound the wait by time, not by iterations. */
static bool spin_for(ev_tstamp *end) {
        if (!*end)
                *end = ev_time() + 30;
        ev_run(loop, EVRUN_NOWAIT);
        return ev_time() < *end;
}

static void run_until(const int *flag) {
        for (ev_tstamp end = 0; !*flag && spin_for(&end);)
                ;
        assert_true(*flag);
}

static void on_txn(void *u, int r, int64_t rev) {
        int *x = u;
        assert_int_equal(r, 0);
        *x = 1;
}

static void on_lease(void *u, int r, int64_t lease) {
        int64_t *x = u;
        assert_int_equal(r, 0);
        *x = lease;
}

static int64_t lease_grant(void) {
        int64_t l = 0;
        assert_int_equal(nd_store_lease_grant(f.st, 600, on_lease, &l), 0);
        for (ev_tstamp end = 0; !l && spin_for(&end);)
                ;
        assert_true(l > 0);
        return l;
}

static json_t *status(void) {
        json_t *j = nd_cluster_status(f.cl);
        assert_non_null(j);
        return j;
}

static json_int_t status_int(const char *field) {
        json_t *j = status();
        json_int_t v = json_integer_value(json_object_get(j, field));
        json_decref(j);
        return v;
}

/* Until the cluster has applied every revision the store has. */
static void settle(void) {
        if (!f.cl)
                return;
        for (ev_tstamp end = 0; status_int("Revision") != nd_store_local_revision(f.st) && spin_for(&end);)
                ;
        assert_int_equal(status_int("Revision"), nd_store_local_revision(f.st));
}

static void put(const char *key, const char *value, int64_t lease) {
        int ok = 0;
        assert_int_equal(nd_store_put(f.st, key, value, lease, on_txn, &ok), 0);
        run_until(&ok);
        settle();
}

static void del(const char *key) {
        int ok = 0;
        assert_int_equal(nd_store_delete(f.st, key, on_txn, &ok), 0);
        run_until(&ok);
        settle();
}

static void put_node(const char *id, const char *name, const char *addr, int64_t lease) {
        char k[128], v[256];
        snprintf(k, sizeof(k), ND_KEY_GLOBAL_NODES "%s", id);
        snprintf(v, sizeof(v), "{\"Addr\":\"%s\",\"Id\":\"%s\",\"Name\":\"%s\",\"Registered\":1,\"Version\":\"t\"}",
                 addr, id, name);
        put(k, v, 0);
        if (!lease)
                return;
        snprintf(k, sizeof(k), ND_KEY_GLOBAL_LIVE "%s", id);
        snprintf(v, sizeof(v), "{\"Addr\":\"%s\",\"Id\":\"%s\",\"Name\":\"%s\",\"Started\":1,\"Version\":\"t\"}",
                 addr, id, name);
        put(k, v, lease);
}

static void put_block(const char *node, const char *block) {
        char k[256], v[128];
        snprintf(k, sizeof(k), ND_KEY_GLOBAL_BLOCKS NET "/%s", block);
        snprintf(v, sizeof(v), "{\"Name\":\"n\",\"Node\":\"%s\"}", node);
        put(k, v, 0);
}

static void ep_key(const char *node, const char *ct, char *buf, size_t size) {
        snprintf(buf, size, ND_KEY_GLOBAL_ENDPOINTS "%s/" NET "/%s", node, ct);
}

/* An endpoint record as cluster-publish.c writes it. */
static void put_ep(const char *node, const char *ct, const char *vtep, const char *ip4, const char *name,
                   int64_t lease) {
        char k[256], v[512];
        ep_key(node, ct, k, sizeof(k));
        snprintf(v, sizeof(v), "{\"Aliases\":[\"www\"],\"Hostname\":\"%s-host\",\"IPv4\":\"%s\","
                 "\"Mac\":\"02:42:0a:4d:01:05\",\"Name\":\"%s\",\"Node\":\"%s\",\"Vtep\":\"%s\"}",
                 name, ip4, name, node, vtep);
        put(k, v, lease);
}

static void put_network(void) {
        static const char spec_text[] = "{\"Name\": \"ov\", \"Driver\": \"overlay\", \"IPAM\": {\"Config\": "
                                        "[{\"Subnet\": \"10.77.0.0/16\"}]}, \"Options\": {\"vni\": \"5001\", "
                                        "\"ipam.block\": \"24\"}}";
        json_t *j = NULL;
        nd_network_spec spec;
        nd_network *n = NULL;
        nd_diag d = {0};

        assert_int_equal(nd_json_parse_object(spec_text, strlen(spec_text), &j, &d), 0);
        assert_int_equal(nd_network_spec_from_json(j, &spec, &d), 0);
        json_decref(j);
        assert_int_equal(nd_network_new(&spec, NET, 1, &n, &d), 0);
        j = nd_network_to_json(n);
        char *v = json_dumps(j, JSON_COMPACT);
        assert_non_null(v);
        put(ND_KEY_GLOBAL_NETWORKS NET, v, 0);
        free(v);
        json_decref(j);
        nd_network_free(n);
}

static void on_done(void *u, int r) {
        f.done = 1;
        f.done_r = r;
}

static void cluster_start(void) {
        static const nd_cluster_config cfg = {
                .node = "self", .node_id = SELF, .advertise = "192.0.2.1", .ttl = 600,
        };
        nd_addr local;
        nd_overlay *ov = NULL;

        assert_int_equal(nd_addr_parse(cfg.advertise, &local), 0);
        assert_int_equal(nd_overlay_new_kinds(loop, NULL, &local, 4789, kinds, &ov), 0);
        assert_int_equal(nd_cluster_new_with(loop, NULL, f.dir, f.dns, NULL, &cfg, &nets_ops, f.st, ov, on_done,
                                             NULL, &f.cl),
                         0);
        assert_int_equal(nd_cluster_start(f.cl), 0);
        run_until(&f.done);
        assert_int_equal(f.done_r, 0);
        settle();
}

static int setup(void **state) {
        static const char *const upstream = "192.0.2.53";
        static nd_addr srv;
        memset(&f, 0, sizeof(f));
        memset(&tk, 0, sizeof(tk));
        n_nets = 0;
        loop = ev_loop_new(EVFLAG_AUTO);
        assert_non_null(loop);
        snprintf(f.dir, sizeof(f.dir), "/tmp/nd-test-cluster.XXXXXX");
        assert_non_null(mkdtemp(f.dir));
        assert_int_equal(nd_store_local_open_at(loop, f.dir, &f.st), 0);
        assert_int_equal(nd_addr_parse(upstream, &srv), 0);
        assert_int_equal(nd_dns_new(loop, &(nd_dns_config) { .servers = &srv, .n_servers = 1 }, &f.dns), 0);
        f.peer_lease = lease_grant();
        f.other_lease = lease_grant();
        return 0;
}

static int teardown(void **state) {
        if (f.cl)
                nd_cluster_free(f.cl); /* and the store and the overlay */
        else
                nd_store_free(f.st);
        nd_dns_free(f.dns);
        while (n_nets)
                nd_network_free(nets[--n_nets]);
        nd_test_rm_rf(f.dir);
        ev_loop_destroy(loop);
        return 0;
}

/* ---- checks ---- */

static size_t lookup(const char *name, nd_addr *out) {
        const char *const on[] = { "ov" };
        bool exists = false;
        return nd_dns_names_lookup(nd_dns_table(f.dns), on, 1, name, AF_INET, 0, out, 4, &exists);
}

static void assert_addr(const nd_addr *a, const char *want) {
        char b[ND_ADDR_STRLEN];
        assert_string_equal(nd_addr_fmt(a, b), want);
}

static json_int_t peers_in_overlay(void) {
        nd_network *n = NULL;
        assert_int_equal(nets_find(NULL, NET, &n), 0);
        json_t *j = nd_cluster_network_status(f.cl, n);
        assert_non_null(j);
        json_int_t v = json_integer_value(json_object_get(j, "Peers"));
        assert_int_equal(json_array_size(json_object_get(j, "RemoteEndpoints")), v);
        json_decref(j);
        return v;
}

static void assert_rejected(json_int_t count, const char *key, const char *why) {
        char want[512];
        json_t *j = status();
        assert_int_equal(json_integer_value(json_object_get(j, "RejectedRecords")), count);
        snprintf(want, sizeof(want), "%s: %s", key, why);
        assert_string_equal(json_string_value(json_object_get(j, "LastRejected")), want);
        json_decref(j);
}

/* A live peer with a block: the network joined, the peer's node known. */
static void peer_world(void) {
        put_network();
        put_node(PEER, "peer", PEER_VTEP, f.peer_lease);
        put_block(PEER, "10.77.1.0-24");
}

/* ---- tests ---- */

static void test_peer_endpoint(void **state) {
        nd_addr a[4];
        char k[256];

        cluster_start();
        peer_world();
        assert_int_equal(n_nets, 1);
        assert_int_equal(tk.ups, 1);
        assert_int_equal(tk.adds, 0);

        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", f.peer_lease);
        /* an overlay peer: the fake kind was told, the table holds it */
        assert_int_equal(tk.adds, 1);
        assert_addr(&tk.last_add.ip4, "10.77.1.5");
        assert_addr(&tk.last_add.vtep, PEER_VTEP);
        assert_memory_equal(tk.last_add.mac, "\x02\x42\x0a\x4d\x01\x05", 6);
        assert_int_equal(tk.last_add.ip6.family, 0);
        assert_int_equal(peers_in_overlay(), 1);
        assert_int_equal(status_int("RemoteEndpoints"), 1);
        assert_int_equal(status_int("RejectedRecords"), 0);
        /* the topology's view of it: node, network, id, name, addresses */
        json_t *reps = nd_cluster_remote_endpoints(f.cl);
        assert_int_equal(json_array_size(reps), 1);
        char *got = json_dumps(json_array_get(reps, 0), JSON_SORT_KEYS | JSON_COMPACT);
        assert_string_equal(got, "{\"IPv4\":\"10.77.1.5\",\"IPv6\":\"\",\"Id\":\"" CT1 "\",\"Mac\":\"02:42:0a:4d:01:05\","
                                 "\"Name\":\"web\",\"Network\":\"" NET "\",\"Node\":\"" PEER "\",\"Service\":\"\"}");
        free(got);
        json_decref(reps);
        /* names: its name, host name, alias and short id */
        assert_int_equal(lookup("web", a), 1);
        assert_addr(&a[0], "10.77.1.5");
        assert_int_equal(lookup("web.ov", a), 1);
        assert_int_equal(lookup("web-host", a), 1);
        assert_int_equal(lookup("www", a), 1);
        assert_int_equal(lookup("a1a1a1a1a1a1", a), 1);
        const char *const on[] = { "ov" };
        assert_string_equal(nd_dns_names_reverse(nd_dns_table(f.dns), on, 1, &a[0]), "web.ov");

        /* withdrawn: gone from the overlay and from DNS */
        ep_key(PEER, CT1, k, sizeof(k));
        del(k);
        assert_int_equal(tk.dels, 1);
        assert_addr(&tk.last_del.ip4, "10.77.1.5");
        assert_int_equal(peers_in_overlay(), 0);
        assert_int_equal(lookup("web", a), 0);
        assert_int_equal(status_int("RemoteEndpoints"), 0);
        reps = nd_cluster_remote_endpoints(f.cl);
        assert_int_equal(json_array_size(reps), 0);
        json_decref(reps);

        /* a name too long for the table is cut between characters, so
         * the topology stays JSON: 63 bytes, then a 2-byte "é" */
        char longname[128];
        memset(longname, 'a', 63);
        strcpy(longname + 63, "\xc3\xa9z");
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", longname, f.peer_lease);
        reps = nd_cluster_remote_endpoints(f.cl);
        assert_non_null(reps);
        longname[63] = 0;
        assert_string_equal(json_string_value(json_object_get(json_array_get(reps, 0), "Name")), longname);
        json_decref(reps);
}

/* A node that is not live any more: its endpoints go, even while their
 * records stay; and when its lease goes, with the records. */
static void test_node_leaves(void **state) {
        nd_addr a[4];
        int64_t revoked = 0;

        cluster_start();
        peer_world();
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", f.peer_lease);
        assert_int_equal(peers_in_overlay(), 1);
        del(ND_KEY_GLOBAL_LIVE PEER);
        assert_int_equal(tk.dels, 1);
        assert_int_equal(peers_in_overlay(), 0);
        assert_int_equal(lookup("web", a), 0);
        json_t *nodes = nd_cluster_nodes(f.cl);
        size_t i, found = 0;
        json_t *v;
        json_array_foreach(nodes, i, v)
                if (strcmp(json_string_value(json_object_get(v, "Id")), PEER) == 0) {
                        assert_string_equal(json_string_value(json_object_get(v, "State")), "down");
                        found++;
                }
        assert_int_equal(found, 1);
        json_decref(nodes);

        /* back, and its record written again */
        put_node(PEER, "peer", PEER_VTEP, f.peer_lease);
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", f.peer_lease);
        assert_int_equal(peers_in_overlay(), 1);
        assert_int_equal(lookup("web", a), 1);
        /* revoking deletes live/PEER and the endpoint (one transaction) */
        assert_int_equal(nd_store_lease_revoke(f.st, f.peer_lease, on_lease, &revoked), 0);
        for (ev_tstamp end = 0; !revoked && spin_for(&end);)
                ;
        settle();
        assert_int_equal(tk.dels, 2);
        assert_int_equal(peers_in_overlay(), 0);
        assert_int_equal(lookup("web", a), 0);
}

/* Records already in the store when the cluster starts: the snapshot is
 * applied networks, nodes, blocks, then endpoints, whatever the order of
 * the keys (endpoints/ sorts before live/ and nodes/). */
static void test_snapshot(void **state) {
        nd_addr a[4];

        peer_world();
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", f.peer_lease);
        cluster_start();
        assert_int_equal(n_nets, 1);
        assert_int_equal(tk.adds, 1);
        assert_int_equal(peers_in_overlay(), 1);
        assert_int_equal(lookup("web", a), 1);
        assert_int_equal(status_int("RejectedRecords"), 0);
}

static void test_untrusted(void **state) {
        nd_addr a[4];
        char k[256];

        cluster_start();
        peer_world();
        /* a node that is registered but not live, with a block */
        put_node(OTHER, "other", "192.0.2.3", 0);
        put_block(OTHER, "10.77.3.0-24");

        put_ep(OTHER, CT1, "192.0.2.3", "10.77.3.5", "ghost", 0);
        ep_key(OTHER, CT1, k, sizeof(k));
        assert_rejected(1, k, "its node is not live");

        /* not on its node's lease: none, then another */
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", 0);
        ep_key(PEER, CT1, k, sizeof(k));
        assert_rejected(2, k, "it is not on its node's lease");
        put_ep(PEER, CT1, PEER_VTEP, "10.77.1.5", "web", f.other_lease);
        assert_rejected(3, k, "it is not on its node's lease");

        /* frames to an address that is not the node's */
        put_ep(PEER, CT1, "192.0.2.66", "10.77.1.5", "web", f.peer_lease);
        assert_rejected(4, k, "its tunnel address is not its node's address");

        /* an address in no block, and in another node's block */
        put_ep(PEER, CT1, PEER_VTEP, "10.77.2.5", "web", f.peer_lease);
        assert_rejected(5, k, "its IPv4 address is not in an address block of its node");
        put_ep(PEER, CT1, PEER_VTEP, "10.77.3.5", "web", f.peer_lease);
        assert_rejected(6, k, "its IPv4 address is not in an address block of its node");

        /* none of them reached the overlay or DNS */
        assert_int_equal(tk.adds, 0);
        assert_int_equal(peers_in_overlay(), 0);
        assert_int_equal(lookup("web", a), 0);
        assert_int_equal(lookup("ghost", a), 0);
        assert_int_equal(status_int("RemoteEndpoints"), 0);

        /* the same record, trusted now, then made untrusted: it goes */
        put_ep(PEER, CT2, PEER_VTEP, "10.77.1.6", "db", f.peer_lease);
        assert_int_equal(tk.adds, 1);
        assert_int_equal(lookup("db", a), 1);
        put_ep(PEER, CT2, "192.0.2.66", "10.77.1.6", "db", f.peer_lease);
        ep_key(PEER, CT2, k, sizeof(k));
        assert_rejected(7, k, "its tunnel address is not its node's address");
        assert_int_equal(tk.dels, 1);
        assert_int_equal(peers_in_overlay(), 0);
        assert_int_equal(lookup("db", a), 0);
        json_t *j = status();
        assert_string_equal(json_string_value(json_object_get(j, "Store")), "local");
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_peer_endpoint, setup, teardown),
                cmocka_unit_test_setup_teardown(test_node_leaves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_untrusted, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
