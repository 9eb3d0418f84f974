/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

int nd_log_max_level = LOG_INFO;
static int use_syslog;

static const char *const level_names[] = {
        [LOG_EMERG] = "error", [LOG_ALERT] = "error", [LOG_CRIT] = "error",
        [LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "info",
        [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int nd_log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (!strcasecmp(s, "debug"))
                return LOG_DEBUG;
        if (!strcasecmp(s, "info"))
                return LOG_INFO;
        if (!strcasecmp(s, "warning") || !strcasecmp(s, "warn"))
                return LOG_WARNING;
        if (!strcasecmp(s, "error"))
                return LOG_ERR;
        return -EINVAL;
}

void nd_log_set_target_syslog(int on) {
        use_syslog = on;
        if (on)
                openlog("netd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

const char *nd_log_quote(const char *s, char *buf, size_t size) {
        size_t o = 0;
        if (size < 3)
                return "";
        buf[o++] = '"';
        for (; s && *s && o + 3 < size; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                } else if (c < 0x20 || c == 0x7f)
                        buf[o++] = '?';
                else
                        buf[o++] = (char) c;
        }
        buf[o++] = '"';
        buf[o] = 0;
        return buf;
}

void nd_log_internal(int level, int err, const char *msg, const char *fmt, ...) {
        char line[2048], ts[40], q[512];
        struct timespec now;
        struct tm tm;
        int n;
        va_list ap;

        if (level < 0 || level > LOG_DEBUG)
                level = LOG_ERR;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

        n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s msg=%s", ts, now.tv_nsec / 1000000,
                     level_names[level], nd_log_quote(msg, q, sizeof(q)));
        if (fmt && *fmt && n > 0 && (size_t) n < sizeof(line) - 1) {
                line[n++] = ' ';
                va_start(ap, fmt);
                int m = vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
                va_end(ap);
                if (m > 0)
                        n += m;
        }
        if (err && n > 0 && (size_t) n < sizeof(line))
                n += snprintf(line + n, sizeof(line) - (size_t) n, " err=%s",
                              nd_log_quote(strerror(err < 0 ? -err : err), q, sizeof(q)));
        if (use_syslog)
                syslog(level, "%s", line);
        else {
                if (n < 0 || (size_t) n >= sizeof(line))
                        n = (int) strlen(line);
                fprintf(stderr, "%s\n", line);
        }
}
