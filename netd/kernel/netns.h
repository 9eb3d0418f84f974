/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file netns.h
 * Persistent network namespaces: a namespace bind-mounted on a file (as
 * `ip netns add` does) so it outlives every process in it, and a way to run
 * netlink inside one.  setns() moves only the calling thread, so switching
 * the loop thread's namespace and back affects nothing else (the link
 * reaper's thread stays in netd's namespace); sockets keep the namespace
 * they were opened in.
 */
#pragma once

struct nl_sock;

/* Make @dir a shared mount point of its own (once), so namespace mounts
 * under it propagate to mount namespaces cloned later and their unmount
 * does too. */
int nd_netns_dir_prepare(const char *dir);
/* Create a new namespace bound to @path (created).  -EEXIST if bound. */
int nd_netns_create(const char *path);
/* Bind an existing namespace (e.g. /proc/PID/ns/net) to @path: repairs a
 * lost bind mount while a process still holds the namespace. */
int nd_netns_bind(const char *from, const char *path);
/* Unmount and unlink; 0 if already gone. */
int nd_netns_remove(const char *path);
/* An open fd of the namespace at @path (O_CLOEXEC); -ENOENT when no
 * namespace is bound there. */
int nd_netns_open(const char *path);
/* @fn(@arg) with the calling thread in the namespace @ns_fd (< 0: where
 * it is), and back (abort() if it cannot come back: nothing it did
 * afterwards would be right); @fn's result, or why it could not enter.
 * Sockets @fn opens stay in that namespace. */
int nd_netns_run(int ns_fd, int (*fn)(void *arg), void *arg);
/* A NETLINK_ROUTE socket inside the namespace @ns_fd. */
int nd_netns_nl_socket(int ns_fd, struct nl_sock **ret);
/* Write @value to /proc/sys/@key (e.g. "net/ipv6/conf/eth0/disable_ipv6")
 * of the namespace @ns_fd (the calling thread enters it to open the file
 * and comes back), or of the calling thread's own with @ns_fd < 0.
 * -ENOENT: no such setting (a kernel without IPv6). */
int nd_netns_sysctl_write(int ns_fd, const char *key, const char *value);
/* Both at once for the namespace at @path: a netlink socket inside it,
 * and (@ret_fd non-NULL) its fd, which the caller closes; nothing is left
 * open on failure. */
int nd_netns_nl_open(const char *path, int *ret_fd, struct nl_sock **ret_sk);
