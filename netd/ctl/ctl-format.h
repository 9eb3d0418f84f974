/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ctl-format.h
 * netctl's --format: the part of Go's text/template that scripts use with
 * `docker ... inspect --format`, over a JSON value:
 *
 *   text                      copied as is
 *   {{.}}  {{.A.B}}           a string, number, boolean or null (as Go
 *                             prints them: null is "<no value>")
 *   {{json .}}  {{json .A}}   the value as compact JSON
 *   {{range .A}}...{{end}}    the body once per element of an array, or per
 *                             value of an object in key order (Go ranges
 *                             over a map in key order); "." is the element;
 *                             over null, nothing
 *
 * Spaces inside the braces are ignored ("{{ .A }}").  Anything else is
 * refused when the template is parsed, before anything is rendered:
 * "unsupported template action '{{...}}'".  A field that is
 * missing, or an object or array printed without json, is an error when
 * rendered.  Pure: no I/O, no globals; the caller prints the result only
 * once every value rendered, so a failure prints nothing.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define ND_FMT_MAX_TEMPLATE 4096 /* bytes of template text */
#define ND_FMT_MAX_DEPTH 8       /* nested ranges */
#define ND_FMT_MAX_OUTPUT (16u << 20) /* bytes rendered */

typedef struct nd_fmt nd_fmt;

/* Parse @text.  0 and *@ret (owned by the caller, nd_fmt_free), or
 * -EINVAL/-E2BIG/-ENOMEM with the reason in @err. */
int nd_fmt_parse(const char *text, nd_fmt **ret, char *err, size_t errsz);
/* Render @t over @v (borrowed).  0 and a malloc'd NUL-terminated *@ret,
 * or -EINVAL/-E2BIG/-ENOMEM with the reason in @err and *@ret NULL. */
int nd_fmt_render(const nd_fmt *t, const json_t *v, char **ret, char *err, size_t errsz);
nd_fmt *nd_fmt_free(nd_fmt *t);
