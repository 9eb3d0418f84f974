/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "diag.h"

int nd_diag_set(nd_diag *d, int err, const char *fmt, ...) {
        if (d) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
                va_end(ap);
        }
        return err;
}
