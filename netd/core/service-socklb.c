/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services' socket-level balancer (kernel/sock-lb.h, docs/services.md
 * "Data path"): the containers netd runs connect to a VIP's backend
 * directly, chosen by a cgroup program at connect(); nftables' DNAT
 * stays for everyone else (other hosts, the routing mesh, host processes,
 * CNI pods and Docker containers, whose cgroups netd does not own) and
 * for these containers whenever the programs are not there.
 *
 * The map follows the nftables VIP elements: nd_svc_apply() writes both
 * from the same healthy backends, so a task leaves the sockets' choice
 * when it leaves the slots.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cgroup2.h"
#include "container.h"
#include "log.h"
#include "macro.h"
#include "services.h"
#include "services-internal.h"
#include "sock-lb.h"

void nd_svc_socklb_init(nd_manager *m) {
        char root[64], why[512];
        int r;

        if (m->no_socklb) {
                nd_log(LOG_INFO, "services: VIPs through nftables only (--sock-lb off)");
                return;
        }
        r = nd_rt_cgroup2_root(root, sizeof(root));
        if (r < 0) {
                nd_log(LOG_WARNING, "services: no cgroup v2 mount (/sys/fs/cgroup, /sys/fs/cgroup/unified): "
                       "VIPs through nftables' DNAT only");
                return;
        }
        r = nd_socklb_new(&m->socklb, why, sizeof(why));
        if (r < 0) {
                /* the verifier's log ends with its summary line */
                char *last = why, *nl;
                while ((nl = strchr(last, '\n')) && nl[1])
                        last = nl + 1;
                if (nl)
                        *nl = 0;
                nd_log_errno(LOG_WARNING, r, "services: cgroup BPF programs not loaded: VIPs through nftables' "
                             "DNAT only", "verifier=\"%s\"", last);
                return;
        }
        nd_log(LOG_INFO, "services: containers' connections to VIPs balanced at the socket", "cgroup2=%s", root);
}

void nd_svc_socklb_container(nd_manager *m, const char *id) {
        char dir[PATH_MAX];
        int r;

        if (!m->socklb)
                return;
        r = nd_rt_cgroup2_make(id, dir, sizeof(dir));
        if (r >= 0)
                r = nd_socklb_attach(m->socklb, dir);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "attaching the socket balancer failed, its VIP connections take DNAT",
                             "ct=%.12s", id);
}

void nd_svc_socklb_restore(nd_manager *m) {
        for (size_t i = 0; m->socklb && i < m->n_cts; i++)
                if (m->cts[i]->status == ND_CT_RUNNING)
                        nd_svc_socklb_container(m, m->cts[i]->id);
}

void nd_svc_socklb_set(nd_manager *m, const struct nd_svc *s, const nd_addr *vip, const nd_addr *be, size_t n) {
        _cleanup_free_ uint32_t *v4 = NULL;
        uint32_t key;
        size_t k = 0;
        int r;

        if (!m->socklb || vip->family != AF_INET)
                return;
        if (n && !(v4 = calloc(n, sizeof(*v4)))) {
                nd_log(LOG_ERR, "out of memory applying a service", "service=%s", s->rec->name);
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (be[i].family == AF_INET)
                        memcpy(&v4[k++], be[i].b, sizeof(*v4));
        memcpy(&key, vip->b, sizeof(key));
        r = nd_socklb_vip_set(m->socklb, key, v4, k);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "programming a VIP's socket backends failed", "service=%s", s->rec->name);
}

void nd_svc_socklb_keep(nd_manager *m, struct nd_svc *s, const uint32_t *vips, size_t n) {
        uint32_t *keep = NULL;

        for (size_t i = 0; m->socklb && i < s->n_lb_vips; i++) {
                bool still = false;
                for (size_t j = 0; j < n && !still; j++)
                        still = vips[j] == s->lb_vips[i];
                if (!still)
                        (void) nd_socklb_vip_set(m->socklb, s->lb_vips[i], NULL, 0);
        }
        if (n && m->socklb && (keep = malloc(n * sizeof(*keep))))
                memcpy(keep, vips, n * sizeof(*keep));
        free(s->lb_vips);
        s->lb_vips = keep;
        s->n_lb_vips = keep ? n : 0;
}

void nd_svc_socklb_free(nd_manager *m) {
        char dir[PATH_MAX];

        if (!m->socklb)
                return;
        /* nothing pinned: once detached and closed, the programs and maps
         * are gone, and the containers' VIP connections take DNAT */
        for (size_t i = 0; i < m->n_cts; i++)
                if (nd_rt_cgroup2_dir(m->cts[i]->id, dir, sizeof(dir)) == 0)
                        (void) nd_socklb_detach(m->socklb, dir);
        m->socklb = nd_socklb_free(m->socklb);
}

const char *nd_manager_service_lb(nd_manager *m) {
        return m->socklb ? "socket" : "nftables";
}
