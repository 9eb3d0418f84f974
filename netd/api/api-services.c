/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/services (docs/api.md "Services"): create, list, inspect, remove;
 * for services whose tasks netd runs, their tasks (service ps), scale,
 * update and rollback.
 */
#include <string.h>

#include "api.h"
#include "diag.h"
#include "http.h"
#include "json-util.h"
#include "macro.h"
#include "manager.h"
#include "services.h"

static void on_service_done(void *userdata, int r, json_t *view, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return nd_api_reply_diag(req, r, d);
        if (view)
                return nd_http_reply_json(req, 201, view);
        nd_http_reply_json(req, 204, NULL);
}

static void on_service_changed(void *userdata, int r, json_t *view, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return nd_api_reply_diag(req, r, d);
        nd_http_reply_json(req, 200, view);
}

/* /v1/services/REF/ACTION */
static void route_action(nd_manager *m, nd_http_request *req, const char *ref, const char *action) {
        const char *method = nd_http_request_method(req);
        _cleanup_json_ json_t *j = NULL;
        nd_diag d = {0};
        int r;

        if (strcmp(action, "tasks") == 0) {
                json_t *v = NULL;
                if (strcmp(method, "GET") != 0)
                        return nd_api_method_not_allowed(req, "GET");
                r = nd_manager_service_tasks(m, ref, &v, &d);
                if (r < 0)
                        return nd_api_reply_diag(req, r, &d);
                return nd_http_reply_json(req, 200, v);
        }
        if (strcmp(action, "scale") != 0 && strcmp(action, "update") != 0 && strcmp(action, "rollback") != 0)
                return nd_http_reply_error(req, 404, "no such route: %.128s", nd_http_request_path(req));
        if (strcmp(method, "POST") != 0)
                return nd_api_method_not_allowed(req, "POST");
        if (strcmp(action, "rollback") == 0)
                r = nd_manager_service_rollback(m, ref, on_service_changed, req, &d);
        else {
                size_t len;
                const char *body = nd_http_request_body(req, &len);
                r = nd_json_parse_object(body, len, &j, &d);
                if (r >= 0)
                        r = action[0] == 's' ? nd_manager_service_scale(m, ref, j, on_service_changed, req, &d)
                                             : nd_manager_service_update(m, ref, j, on_service_changed, req, &d);
        }
        if (r < 0)
                nd_api_reply_diag(req, r, &d);
}

void nd_api_route_services(nd_manager *m, nd_http_request *req, char **seg, size_t ns) {
        const char *method = nd_http_request_method(req);
        nd_diag d = {0};
        int r;

        if (ns == 2) {
                if (strcmp(method, "GET") == 0)
                        return nd_http_reply_json(req, 200, nd_manager_services_view(m));
                if (strcmp(method, "POST") != 0)
                        return nd_api_method_not_allowed(req, "GET, POST");
                _cleanup_json_ json_t *j = NULL;
                size_t len;
                const char *body = nd_http_request_body(req, &len);
                r = nd_json_parse_object(body, len, &j, &d);
                if (r >= 0)
                        r = nd_manager_service_create(m, j, on_service_done, req, &d);
                if (r < 0)
                        nd_api_reply_diag(req, r, &d);
                return;
        }
        if (ns == 4)
                return route_action(m, req, seg[2], seg[3]);
        if (ns != 3)
                return nd_http_reply_error(req, 404, "no such route: %.128s", nd_http_request_path(req));
        if (strcmp(method, "GET") == 0) {
                json_t *v = NULL;
                r = nd_manager_service_view(m, seg[2], &v, &d);
                if (r < 0)
                        return nd_api_reply_diag(req, r, &d);
                return nd_http_reply_json(req, 200, v);
        }
        if (strcmp(method, "DELETE") != 0)
                return nd_api_method_not_allowed(req, "GET, DELETE");
        r = nd_manager_service_remove(m, seg[2], on_service_done, req, &d);
        if (r < 0)
                nd_api_reply_diag(req, r, &d);
}
