/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file log.h
 * One line per event in logfmt: `ts=… level=… msg="…" key=value …`.
 * The message is a constant string; context goes in key=value fields so
 * lines stay greppable.  Disabled levels cost one comparison.
 */
#pragma once

#include <syslog.h>

#include "macro.h"

extern int nd_log_max_level;

/* Parse "debug|info|warning|error" into a LOG_* level; -EINVAL otherwise. */
int nd_log_level_from_string(const char *s);
void nd_log_set_target_syslog(int on);

void nd_log_internal(int level, int err, const char *msg, const char *fmt, ...) _printf_(4, 5);

/* nd_log(LOG_INFO, "network created", "net=%s id=%.12s", name, id); */
#define nd_log(level, msg, ...)                                                \
        ({                                                                     \
                int _l = (level);                                              \
                if (_l <= nd_log_max_level)                                    \
                        nd_log_internal(_l, 0, msg, "" __VA_ARGS__);           \
        })

/* Logs with err="strerror(-r)" and evaluates to @r (negative errno). */
#define nd_log_errno(level, r, msg, ...)                                       \
        ({                                                                     \
                int _l = (level), _r = (r);                                    \
                if (_l <= nd_log_max_level)                                    \
                        nd_log_internal(_l, _r, msg, "" __VA_ARGS__);          \
                _r < 0 ? _r : -_r;                                             \
        })

/* Quote a user-controlled string for a log field into @buf. */
const char *nd_log_quote(const char *s, char *buf, size_t size);
