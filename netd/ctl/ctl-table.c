/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-table.h"

#define MAX_COLS 7
#define SVC_COLS 7
#define TASK_COLS 7

typedef struct row {
        char *cell[MAX_COLS];
} row;

static void rows_free(row *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++)
                for (size_t c = 0; c < MAX_COLS; c++)
                        free(rows[i].cell[c]);
        free(rows);
}

/* A cell is one line: a control character from the daemon's strings
 * would break the table's layout. */
static char *cell_close(FILE *f, char **buf) {
        if (fclose(f) != 0) {
                free(*buf);
                return NULL;
        }
        for (char *p = *buf; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
        if (!**buf) {
                free(*buf);
                return strdup("-");
        }
        return *buf;
}

static const char *str(const json_t *obj, const char *key) {
        return json_string_value(json_object_get(obj, key));
}

static bool is_id(const char *s) {
        return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The network's name from VirtualIPs, else its short id. */
static void put_network(FILE *f, const json_t *svc, const char *id) {
        const json_t *v;
        size_t i;
        json_array_foreach(json_object_get(svc, "VirtualIPs"), i, v) {
                const char *nid = str(v, "NetworkId"), *name = str(v, "Network");
                if (nid && name && *name && strcmp(nid, id) == 0) {
                        fputs(name, f);
                        return;
                }
        }
        fprintf(f, "%.*s", is_id(id) ? 12 : 64, id);
}

static char *cell_networks(const json_t *svc) {
        char *buf = NULL;
        size_t len = 0, n = 0, i;
        FILE *f = open_memstream(&buf, &len);
        const json_t *e;
        if (!f)
                return NULL;
        json_array_foreach(json_object_get(svc, "Networks"), i, e) {
                const char *id = json_is_string(e) ? json_string_value(e) : str(e, "Network");
                if (!id)
                        continue;
                fputs(n++ ? "," : "", f);
                put_network(f, svc, id);
        }
        return cell_close(f, &buf);
}

/* VirtualIPs' addresses; a record without them has its own "VIP"s. */
static char *cell_vips(const json_t *svc) {
        char *buf = NULL;
        size_t len = 0, n = 0, i;
        FILE *f = open_memstream(&buf, &len);
        const json_t *e;
        if (!f)
                return NULL;
        json_array_foreach(json_object_get(svc, "VirtualIPs"), i, e) {
                const char *a = str(e, "Addr");
                if (a && *a)
                        fprintf(f, "%s%s", n++ ? "," : "", a);
        }
        if (n == 0)
                json_array_foreach(json_object_get(svc, "Networks"), i, e) {
                        const char *a = str(e, "VIP");
                        if (a && *a)
                                fprintf(f, "%s%s", n++ ? "," : "", a);
                }
        return cell_close(f, &buf);
}

/* "mode=ingress,8080:80/tcp" -> "*:8080->80/tcp", "mode=host,53:53/udp"
 * -> "host:53->53/udp"; anything else as it is. */
static void put_port(FILE *f, const char *s) {
        const char *rest = NULL, *where = NULL;
        unsigned pub, tgt;
        char proto[8];
        int end = -1;

        if (strncmp(s, "mode=ingress,", 13) == 0) {
                rest = s + 13;
                where = "*";
        } else if (strncmp(s, "mode=host,", 10) == 0) {
                rest = s + 10;
                where = "host";
        }
        if (rest && sscanf(rest, "%5u:%5u/%7[a-z]%n", &pub, &tgt, proto, &end) == 3 && end >= 0 && !rest[end])
                fprintf(f, "%s:%u->%u/%s", where, pub, tgt, proto);
        else
                fputs(s, f);
}

static char *cell_ports(const json_t *svc) {
        char *buf = NULL;
        size_t len = 0, n = 0, i;
        FILE *f = open_memstream(&buf, &len);
        const json_t *e;
        if (!f)
                return NULL;
        json_array_foreach(json_object_get(svc, "Ports"), i, e)
                if (json_is_string(e)) {
                        fputs(n++ ? "," : "", f);
                        put_port(f, json_string_value(e));
                }
        return cell_close(f, &buf);
}

static char *cell_tasks(const json_t *svc) {
        const json_t *tasks = json_object_get(svc, "Tasks"), *t;
        size_t ready = 0, i;
        char *out = NULL;
        json_array_foreach(tasks, i, t) {
                const char *h = str(t, "Health");
                ready += h && (strcmp(h, "healthy") == 0 || strcmp(h, "none") == 0);
        }
        return asprintf(&out, "%zu/%zu", ready, json_array_size(tasks)) < 0 ? NULL : out;
}

static char *cell_text(const char *s, int max) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fprintf(f, "%.*s", max, s ? s : "");
        return cell_close(f, &buf);
}

static int row_fill(row *r, const json_t *svc) {
        r->cell[0] = cell_text(str(svc, "Name"), 256);
        r->cell[1] = cell_text(str(svc, "Id"), 12);
        r->cell[2] = cell_text(str(svc, "EndpointMode"), 16);
        r->cell[3] = cell_networks(svc);
        r->cell[4] = cell_vips(svc);
        r->cell[5] = cell_ports(svc);
        r->cell[6] = cell_tasks(svc);
        for (size_t c = 0; c < SVC_COLS; c++)
                if (!r->cell[c])
                        return -ENOMEM;
        return 0;
}

static int row_cmp(const void *a, const void *b) {
        const row *x = a, *y = b;
        int c = strcmp(x->cell[0], y->cell[0]);
        return c ? c : strcmp(x->cell[1], y->cell[1]);
}

static void put_row(FILE *f, char *const *cells, const size_t *width, size_t cols) {
        for (size_t c = 0; c < cols; c++) {
                if (c + 1 < cols)
                        fprintf(f, "%-*s  ", (int) width[c], cells[c]);
                else
                        fprintf(f, "%s\n", cells[c]);
        }
}

/* @head and @rows (freed) as the table's text in *@ret. */
static int table_render(char *const *head, size_t cols, row *rows, size_t n, char **ret) {
        size_t width[MAX_COLS], len = 0;
        char *buf = NULL;
        FILE *f;

        for (size_t c = 0; c < cols; c++) {
                width[c] = strlen(head[c]);
                for (size_t i = 0; i < n; i++)
                        if (strlen(rows[i].cell[c]) > width[c])
                                width[c] = strlen(rows[i].cell[c]);
        }
        f = open_memstream(&buf, &len);
        if (!f) {
                rows_free(rows, n);
                return -ENOMEM;
        }
        put_row(f, head, width, cols);
        for (size_t i = 0; i < n; i++)
                put_row(f, rows[i].cell, width, cols);
        rows_free(rows, n);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int nd_table_services(const json_t *services, char **ret) {
        static char *const head[SVC_COLS] = { "NAME", "ID", "MODE", "NETWORKS", "VIPS", "PORTS", "TASKS" };
        size_t n = 0, i;
        const json_t *svc;
        row *rows;

        *ret = NULL;
        if (!json_is_array(services))
                return -EINVAL;
        rows = calloc(json_array_size(services) + 1, sizeof(*rows));
        if (!rows)
                return -ENOMEM;
        json_array_foreach(services, i, svc) {
                if (!json_is_object(svc))
                        continue;
                if (row_fill(&rows[n++], svc) < 0) {
                        rows_free(rows, n);
                        return -ENOMEM;
                }
        }
        qsort(rows, n, sizeof(*rows), row_cmp);
        return table_render(head, SVC_COLS, rows, n, ret);
}

/* ---- service ps ---- */

/* "12s", "3m", "2h", "4d": how long ago @t was. */
static void put_age(FILE *f, long long secs) {
        if (secs < 0)
                secs = 0;
        if (secs < 120)
                fprintf(f, "%llds ago", secs);
        else if (secs < 7200)
                fprintf(f, "%lldm ago", secs / 60);
        else if (secs < 172800)
                fprintf(f, "%lldh ago", secs / 3600);
        else
                fprintf(f, "%lldd ago", secs / 86400);
}

static long long num(const json_t *obj, const char *key) {
        return (long long) json_integer_value(json_object_get(obj, key));
}

static char *cell_state(const json_t *t, long long now) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        const char *st = str(t, "State"), *h = str(t, "Health");
        long long retry = num(t, "RetryAt");
        if (!f)
                return NULL;
        fputs(st ? st : "", f);
        if (h && *h && st && strcmp(st, "running") == 0)
                fprintf(f, " (%s)", h);
        if (retry > 0 && now >= 0 && retry >= now)
                fprintf(f, " (retry in %llds)", retry - now);
        return cell_close(f, &buf);
}

static char *cell_since(const json_t *t, long long now) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        if (num(t, "Since") > 0 && now >= 0)
                put_age(f, now - num(t, "Since"));
        return cell_close(f, &buf);
}

static int task_row_fill(row *r, const json_t *t, long long now) {
        r->cell[0] = cell_text(str(t, "Name"), 256);
        r->cell[1] = cell_text(str(t, "Container"), 12);
        r->cell[2] = cell_text(str(t, "Host"), 64);
        r->cell[3] = cell_text(str(t, "DesiredState"), 16);
        r->cell[4] = cell_state(t, now);
        r->cell[5] = cell_since(t, now);
        r->cell[6] = cell_text(str(t, "Error"), 256);
        for (size_t c = 0; c < TASK_COLS; c++)
                if (!r->cell[c])
                        return -ENOMEM;
        return 0;
}

int nd_table_service_tasks(const json_t *tasks, long long now, char **ret) {
        static char *const head[TASK_COLS] = { "NAME", "CONTAINER", "HOST", "DESIRED", "STATE", "SINCE", "ERROR" };
        size_t n = 0, i;
        const json_t *t;
        row *rows;

        *ret = NULL;
        if (!json_is_array(tasks))
                return -EINVAL;
        rows = calloc(json_array_size(tasks) + 1, sizeof(*rows));
        if (!rows)
                return -ENOMEM;
        json_array_foreach(tasks, i, t) {
                if (!json_is_object(t))
                        continue;
                if (task_row_fill(&rows[n++], t, now) < 0) {
                        rows_free(rows, n);
                        return -ENOMEM;
                }
        }
        return table_render(head, TASK_COLS, rows, n, ret);
}
