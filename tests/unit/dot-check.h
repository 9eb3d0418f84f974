/* SPDX-License-Identifier: Apache-2.0 */
/* What a hostile name could break in netctl's DOT (netd/ctl/ctl-dot.c):
 * every quoted string ends on its line (a backslash escapes the next
 * character, never a newline), and braces and brackets outside strings
 * balance.  Shared by tests/unit/test-dot.c and the fuzzer. */
#pragma once

#include <stdbool.h>

static inline bool dot_well_formed(const char *dot) {
        int braces = 0, brackets = 0;
        bool in = false;
        for (const char *p = dot; *p; p++) {
                if (in) {
                        if (*p == '\\') {
                                p++;
                                if (!*p || *p == '\n')
                                        return false;
                        } else if (*p == '"')
                                in = false;
                        else if (*p == '\n')
                                return false;
                        continue;
                }
                if (*p == '"')
                        in = true;
                braces += (*p == '{') - (*p == '}');
                brackets += (*p == '[') - (*p == ']');
                if (braces < 0 || brackets < 0)
                        return false;
        }
        return !in && braces == 0 && brackets == 0;
}
