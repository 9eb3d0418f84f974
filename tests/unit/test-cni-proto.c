/* SPDX-License-Identifier: Apache-2.0 */
/* netd-cni's input (netd/model/cni-proto.h): the ADD body, and the
 * service a pod names in each of the forms docs/cni.md gives (CNI_ARGS
 * NETD_SERVICE, the pod annotation netd.service, args.netd.service), in
 * their order of precedence, and the errors for forms that are not text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cni-proto.h"

#define CONF_HEAD "{\"cniVersion\":\"1.0.0\",\"name\":\"front\",\"type\":\"netd\""

static int add(const char *conf, const char *args, nd_cni_call *c, nd_cni_error *e) {
        nd_cni_env env = { .command = "ADD", .containerid = "ctr1", .ifname = "eth0", .netns = "/run/netns/x",
                           .args = args };
        return nd_cni_parse(conf, strlen(conf), &env, c, e);
}

/* The "Service" of the ADD body for @conf and @args, or NULL. */
static const char *service(const char *conf, const char *args, nd_cni_call *c) {
        nd_cni_error e;
        assert_int_equal(add(conf, args, c, &e), 0);
        assert_string_equal(json_string_value(json_object_get(c->body, "Network")), "front");
        return json_string_value(json_object_get(c->body, "Service"));
}

static void test_add_body(void **state) {
        nd_cni_call c;
        assert_null(service(CONF_HEAD "}", "IgnoreUnknown=1;K8S_POD_NAME=web1", &c));
        assert_string_equal(json_string_value(json_object_get(c.body, "Name")), "web1");
        assert_string_equal(json_string_value(json_object_get(c.body, "ContainerID")), "ctr1");
        assert_string_equal(c.path, "/v1/sandboxes/ctr1/eth0");
        nd_cni_call_done(&c);
}

static void test_service_cni_args(void **state) {
        nd_cni_call c;
        assert_string_equal(service(CONF_HEAD "}", "IgnoreUnknown=1;K8S_POD_NAME=p;NETD_SERVICE=web", &c), "web");
        nd_cni_call_done(&c);
        assert_string_equal(service(CONF_HEAD "}", "NETD_SERVICE=web", &c), "web");
        nd_cni_call_done(&c);
        /* an empty value: none (and not the configuration's either) */
        assert_null(service(CONF_HEAD ",\"args\":{\"netd\":{\"service\":\"api\"}}}", "NETD_SERVICE=", &c));
        nd_cni_call_done(&c);
        /* a long value is passed whole, never cut into another name; netd
         * judges it */
        char args[400], want[380];
        memset(want, 'a', sizeof(want) - 1);
        want[sizeof(want) - 1] = 0;
        snprintf(args, sizeof(args), "NETD_SERVICE=%s", want);
        assert_string_equal(service(CONF_HEAD "}", args, &c), want);
        nd_cni_call_done(&c);
        /* a key that only ends like it */
        assert_null(service(CONF_HEAD "}", "X_NETD_SERVICE=web", &c));
        nd_cni_call_done(&c);
}

static void test_service_annotation(void **state) {
        nd_cni_call c;
        static const char conf[] = CONF_HEAD ",\"capabilities\":{\"io.kubernetes.cri.pod-annotations\":true},"
                                   "\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
                                   "{\"netd.service\":\"api\",\"other\":\"x\"}},"
                                   "\"args\":{\"netd\":{\"service\":\"web\"}}}";
        /* the pod's annotation before the network's default */
        assert_string_equal(service(conf, "K8S_POD_NAME=p", &c), "api");
        nd_cni_call_done(&c);
        /* CNI_ARGS before both */
        assert_string_equal(service(conf, "K8S_POD_NAME=p;NETD_SERVICE=db", &c), "db");
        nd_cni_call_done(&c);
        /* annotations without ours */
        assert_null(service(CONF_HEAD ",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":{\"a\":\"b\"}}}",
                            NULL, &c));
        nd_cni_call_done(&c);
}

static void test_service_args(void **state) {
        nd_cni_call c;
        assert_string_equal(service(CONF_HEAD ",\"args\":{\"netd\":{\"service\":\"web\"}}}", NULL, &c), "web");
        nd_cni_call_done(&c);
        assert_null(service(CONF_HEAD ",\"args\":{\"cni\":{\"labels\":[]}}}", NULL, &c));
        nd_cni_call_done(&c);
        assert_null(service(CONF_HEAD ",\"args\":{\"netd\":{\"service\":\"\"}}}", NULL, &c));
        nd_cni_call_done(&c);
}

static void test_service_errors(void **state) {
        nd_cni_call c;
        nd_cni_error e;
        assert_int_equal(add(CONF_HEAD ",\"args\":{\"netd\":{\"service\":7}}}", NULL, &c, &e), 7);
        assert_string_equal(e.details, "args.netd.service: want a service name");
        assert_null(c.body);
        nd_cni_call_done(&c);
        assert_int_equal(add(CONF_HEAD ",\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":"
                                       "{\"netd.service\":[\"web\"]}}}",
                             NULL, &c, &e),
                         7);
        assert_string_equal(e.msg, "invalid pod annotation netd.service");
        nd_cni_call_done(&c);
        /* CNI_ARGS that is not UTF-8 */
        assert_int_equal(add(CONF_HEAD "}", "NETD_SERVICE=w\xff", &c, &e), 4);
        assert_null(c.body);
        nd_cni_call_done(&c);
        /* DEL carries no body: its service does not matter */
        nd_cni_env env = { .command = "DEL", .containerid = "ctr1", .ifname = "eth0", .args = "NETD_SERVICE=w\xff" };
        static const char conf[] = CONF_HEAD ",\"args\":{\"netd\":{\"service\":7}}}";
        assert_int_equal(nd_cni_parse(conf, strlen(conf), &env, &c, &e), 0);
        assert_null(c.body);
        nd_cni_call_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_body),
                cmocka_unit_test(test_service_cni_args),
                cmocka_unit_test(test_service_annotation),
                cmocka_unit_test(test_service_args),
                cmocka_unit_test(test_service_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
