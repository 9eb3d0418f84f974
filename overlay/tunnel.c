/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tunnel kinds netd runs: the table nd_overlay_new hands to the
 * generic overlay (kept out of overlay.c so unit tests can link that with
 * fake kinds and no kernel code).
 */
#include "tunnel.h"

static const nd_tunnel_ops *const kinds[_ND_TUNNEL_KIND_MAX] = {
        [ND_TUNNEL_VXLAN] = &nd_tunnel_vxlan,
        [ND_TUNNEL_GRE] = &nd_tunnel_gre,
};

int nd_overlay_new(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                   nd_overlay **ret) {
        return nd_overlay_new_kinds(loop, nl, local, vxlan_port, kinds, ret);
}

void nd_overlay_ifname(const char *netid, bool gre, char buf[static 16]) {
        nd_ovl_ifname(kinds[gre ? ND_TUNNEL_GRE : ND_TUNNEL_VXLAN], netid, buf);
}
