/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-format.h"

typedef enum fmt_kind {
        FMT_TEXT,
        FMT_FIELD, /* {{.A.B}} */
        FMT_JSON,  /* {{json .A.B}} */
        FMT_RANGE, /* {{range .A}} body {{end}} */
} fmt_kind;

typedef struct fmt_node {
        fmt_kind kind;
        char *text;              /* FMT_TEXT: the text; else the path without the leading '.', "" for "." */
        size_t len;              /* FMT_TEXT */
        struct fmt_node *body;   /* FMT_RANGE */
        struct fmt_node *next;
} fmt_node;

struct nd_fmt {
        fmt_node *first;
};

static void nodes_free(fmt_node *n) {
        while (n) {
                fmt_node *next = n->next;
                nodes_free(n->body);
                free(n->text);
                free(n);
                n = next;
        }
}

nd_fmt *nd_fmt_free(nd_fmt *t) {
        if (t) {
                nodes_free(t->first);
                free(t);
        }
        return NULL;
}

static int fail(char *err, size_t errsz, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errsz, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return r;
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* ".", ".A", ".A.B": segments of [A-Za-z0-9_], the first not a digit. */
static bool path_valid(const char *p, size_t len) {
        if (len == 0 || p[0] != '.')
                return false;
        if (len == 1)
                return true;
        size_t seg = 0;
        for (size_t i = 1; i < len; i++) {
                if (p[i] == '.') {
                        if (seg == 0)
                                return false;
                        seg = 0;
                        continue;
                }
                if (!isalnum((unsigned char) p[i]) && p[i] != '_')
                        return false;
                if (seg == 0 && isdigit((unsigned char) p[i]))
                        return false;
                seg++;
        }
        return seg > 0;
}

static fmt_node *node_new(fmt_kind kind, const char *s, size_t len) {
        fmt_node *n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->kind = kind;
        n->len = len;
        n->text = strndup(s, len);
        if (!n->text) {
                free(n);
                return NULL;
        }
        return n;
}

/* Parse from *@p until the end of the text (depth 0) or a matching {{end}}
 * (depth > 0) into *@ret. */
static int parse_list(const char **p, int depth, fmt_node **ret, char *err, size_t errsz) {
        fmt_node *first = NULL, **tail = &first;
        const char *s = *p;
        int r;

        for (;;) {
                const char *open = strstr(s, "{{");
                if (!open || open > s) {
                        size_t len = open ? (size_t) (open - s) : strlen(s);
                        if (len) {
                                if (!(*tail = node_new(FMT_TEXT, s, len)))
                                        goto oom;
                                tail = &(*tail)->next;
                        }
                        if (!open) {
                                if (depth > 0) {
                                        r = fail(err, errsz, -EINVAL, "template: {{range}} without {{end}}");
                                        goto out;
                                }
                                *p = s + len;
                                *ret = first;
                                return 0;
                        }
                        s = open;
                }
                const char *close = strstr(s + 2, "}}");
                if (!close) {
                        r = fail(err, errsz, -EINVAL, "template: unclosed action '%.*s'", (int) (strnlen(s, 40)), s);
                        goto out;
                }
                const char *a = s + 2, *b = close;
                size_t whole = (size_t) (close + 2 - s);
                while (a < b && *a == ' ')
                        a++;
                while (b > a && b[-1] == ' ')
                        b--;
                size_t alen = (size_t) (b - a);
                fmt_node *n = NULL;

                if (alen == 3 && memcmp(a, "end", 3) == 0) {
                        if (depth == 0) {
                                r = fail(err, errsz, -EINVAL, "template: '%.*s' without {{range}}", (int) (whole), s);
                                goto out;
                        }
                        *p = close + 2;
                        *ret = first;
                        return 0;
                } else if (path_valid(a, alen)) {
                        n = node_new(FMT_FIELD, a + 1, alen - 1);
                } else if (alen > 5 && memcmp(a, "json ", 5) == 0 && path_valid(a + 5, alen - 5)) {
                        n = node_new(FMT_JSON, a + 6, alen - 6);
                } else if (alen > 6 && memcmp(a, "range ", 6) == 0 && path_valid(a + 6, alen - 6)) {
                        if (depth >= ND_FMT_MAX_DEPTH) {
                                r = fail(err, errsz, -E2BIG, "template: ranges nested too deep at '%.*s'", (int) (whole), s);
                                goto out;
                        }
                        n = node_new(FMT_RANGE, a + 7, alen - 7);
                        if (n) {
                                const char *q = close + 2;
                                r = parse_list(&q, depth + 1, &n->body, err, errsz);
                                if (r < 0) {
                                        nodes_free(n);
                                        goto out;
                                }
                                close = q - 2;
                        }
                } else {
                        r = fail(err, errsz, -EINVAL, "unsupported template action '%.*s'", (int) (whole), s);
                        goto out;
                }
                if (!n)
                        goto oom;
                *tail = n;
                tail = &n->next;
                s = close + 2;
        }
oom:
        r = fail(err, errsz, -ENOMEM, "out of memory");
out:
        nodes_free(first);
        return r;
}

int nd_fmt_parse(const char *text, nd_fmt **ret, char *err, size_t errsz) {
        if (strlen(text) > ND_FMT_MAX_TEMPLATE)
                return fail(err, errsz, -E2BIG, "template longer than 4096 bytes");
        nd_fmt *t = calloc(1, sizeof(*t));
        if (!t)
                return fail(err, errsz, -ENOMEM, "out of memory");
        const char *p = text;
        int r = parse_list(&p, 0, &t->first, err, errsz);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

/* The value at @path ("" for the value itself) under @v, or NULL with
 * @err filled. */
static const json_t *lookup(const json_t *v, const char *path, char *err, size_t errsz) {
        const char *p = path;
        while (*p) {
                const char *dot = strchr(p, '.');
                size_t len = dot ? (size_t) (dot - p) : strlen(p);
                char key[256];
                if (!json_is_object(v) || len >= sizeof(key)) {
                        fail(err, errsz, 0, "template: cannot evaluate field '%.*s' of a value that is not an object", (int) (len), p);
                        return NULL;
                }
                memcpy(key, p, len);
                key[len] = 0;
                const json_t *c = json_object_get(v, key);
                if (!c) {
                        fail(err, errsz, 0, "template: no field '%.*s'", (int) (len), p);
                        return NULL;
                }
                v = c;
                p += len + (dot ? 1 : 0);
        }
        return v;
}

static int render_list(const fmt_node *n, const json_t *v, FILE *out, char *err, size_t errsz) {
        for (; n; n = n->next) {
                const json_t *x = n->kind == FMT_TEXT ? NULL : lookup(v, n->text, err, errsz);
                if (n->kind != FMT_TEXT && !x)
                        return -EINVAL;
                switch (n->kind) {
                case FMT_TEXT:
                        fwrite(n->text, 1, n->len, out);
                        break;
                case FMT_FIELD:
                        if (json_is_string(x))
                                fwrite(json_string_value(x), 1, json_string_length(x), out);
                        else if (json_is_integer(x))
                                fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(x));
                        else if (json_is_real(x))
                                fprintf(out, "%g", json_real_value(x));
                        else if (json_is_boolean(x))
                                fputs(json_is_true(x) ? "true" : "false", out);
                        else if (json_is_null(x))
                                fputs("<no value>", out);
                        else
                                return fail(err, errsz, -EINVAL, "template: '{{.%.*s}}' is an object or array: "
                                            "print it with {{json}}", (int) (strlen(n->text)), n->text);
                        break;
                case FMT_JSON: {
                        char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
                        if (!s)
                                return fail(err, errsz, -ENOMEM, "out of memory");
                        fputs(s, out);
                        free(s);
                        break;
                }
                case FMT_RANGE: {
                        int r;
                        if (json_is_array(x)) {
                                for (size_t i = 0; i < json_array_size(x); i++)
                                        if ((r = render_list(n->body, json_array_get(x, i), out, err, errsz)) < 0)
                                                return r;
                        } else if (json_is_object(x)) {
                                /* Go ranges over a map in key order */
                                size_t k = json_object_size(x), i = 0;
                                const char **keys = calloc(k ? k : 1, sizeof(*keys));
                                const char *key;
                                json_t *e;
                                if (!keys)
                                        return fail(err, errsz, -ENOMEM, "out of memory");
                                json_object_foreach((json_t *) x, key, e)
                                        keys[i++] = key;
                                qsort(keys, k, sizeof(*keys), strcmp_ptr);
                                for (i = 0; i < k; i++)
                                        if ((r = render_list(n->body, json_object_get(x, keys[i]), out, err,
                                                             errsz)) < 0) {
                                                free(keys);
                                                return r;
                                        }
                                free(keys);
                        } else if (!json_is_null(x))
                                return fail(err, errsz, -EINVAL, "template: cannot range over '.%.*s': not an "
                                            "array or object", (int) (strlen(n->text)), n->text);
                        break;
                }
                }
                if (ftell(out) > (long) ND_FMT_MAX_OUTPUT)
                        return fail(err, errsz, -E2BIG, "template: output larger than 16 MiB");
        }
        return 0;
}

int nd_fmt_render(const nd_fmt *t, const json_t *v, char **ret, char *err, size_t errsz) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        int r;

        *ret = NULL;
        if (!out)
                return fail(err, errsz, -ENOMEM, "out of memory");
        r = render_list(t->first, v, out, err, errsz);
        if (fclose(out) != 0 && r == 0)
                r = fail(err, errsz, -ENOMEM, "out of memory");
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}
