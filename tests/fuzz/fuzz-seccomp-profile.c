/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp profile parser (Docker's JSON, sent by any API client).
 * Invariants: a failed parse returns nothing and says why; a profile that
 * parses has bounded rules and names, valid actions, ops and argument
 * indexes, and errno values the kernel can carry. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "diag.h"
#include "seccomp-profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        nd_sc_profile *p = NULL;
        nd_diag d = {0};
        size_t names = 0;

        if (nd_sc_profile_parse((const char *) data, size, &p, &d) < 0) {
                assert(!p && d.msg[0]);
                return 0;
        }
        assert(p->default_action >= 0 && p->default_action < _ND_SC_ACTION_MAX);
        assert(p->default_errno >= 0 && p->default_errno <= 4095);
        assert(p->n_arches <= ND_SC_MAX_ARCHES && p->n_rules <= ND_SC_MAX_RULES);
        for (size_t i = 0; i < p->n_rules; i++) {
                const nd_sc_rule *r = &p->rules[i];
                assert(r->n_names > 0 && r->action >= 0 && r->action < _ND_SC_ACTION_MAX);
                assert(r->errno_ret >= 0 && r->errno_ret <= 4095 && r->n_args <= ND_SC_MAX_ARGS);
                for (size_t k = 0; k < r->n_names; k++)
                        assert(strlen(r->names[k]) > 0 && strlen(r->names[k]) < ND_SC_NAME_MAX);
                for (size_t k = 0; k < r->n_args; k++)
                        assert(r->args[k].index <= 5 && r->args[k].op >= 0 && r->args[k].op < _ND_SC_OP_MAX);
                names += r->n_names;
                (void) nd_sc_rule_applies(r, UINT64_MAX, nd_sc_native_arch(), 6 << 16);
        }
        assert(names <= ND_SC_MAX_NAMES);
        nd_sc_profile_free(p);
        return 0;
}
