/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ctl-dot.h
 * `netctl topology`'s picture: the topology document of GET /v1/topology
 * (docs/api.md) as Graphviz DOT text, for `dot -Tsvg`.
 *
 * The layout, made to stay readable at 50 hosts:
 *   - one cluster per host (subgraph cluster_hN, labelled with its name,
 *     address and state; a host that is not live is drawn dashed) holding
 *     its endpoints, its bridge networks and its local services;
 *   - overlay networks and cluster-wide services outside every host;
 *   - an edge endpoint -> network per attachment, labelled with the
 *     address; a bold edge service -> network labelled with the VIP; a
 *     dashed edge service -> task;
 *   - published ports as lines of their endpoint's or service's label.
 *
 * Graph ids are made here ("hN", "nN", "eN", "sN"); every string of the
 * document goes only into quoted labels, escaped (nd_dot_escape), so a
 * name with quotes, backslashes, newlines or Graphviz escapes draws as
 * text and never ends a string or changes the graph.  The document is
 * untrusted: anything missing or of the wrong type is skipped or drawn
 * empty; only a document that is not an object, or whose lists are not
 * arrays, is refused.  References that lead nowhere (a task whose
 * endpoint is unknown) draw no edge.  Pure: no I/O beyond the memory
 * stream it fills, no globals.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Bytes of one string drawn at most; longer ones are cut (at a UTF-8
 * character boundary) and end in "...". */
#define ND_DOT_MAX_STRING 128

/* @s escaped for the inside of a DOT double-quoted label, at most @max
 * bytes of it: '"' and '\' are backslash-escaped, a newline becomes the
 * label line break "\n", '&' becomes "&amp;" (Graphviz reads entities
 * in labels), other control characters '?'.  @s NULL: nothing. */
void nd_dot_escape(FILE *f, const char *s, size_t max);

/* 0 and the DOT text of @topo (borrowed) in a malloc'd NUL-terminated
 * *@ret; or -EINVAL (not a topology document) / -ENOMEM with the reason
 * in @err and *@ret NULL. */
int nd_dot_render(const json_t *topo, char **ret, char *err, size_t errsz);
