/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file daemon.h
 * The netd process: the composition root over the core and the front
 * ends.  main.c parses the command line into an nd_manager_config.
 */
#pragma once

#include "manager.h"

typedef struct nd_daemon nd_daemon;

int nd_daemon_new(const nd_manager_config *cfg, nd_daemon **ret);
nd_daemon *nd_daemon_free(nd_daemon *d);
/* Start the core, listen when it is ready, run until SIGTERM/SIGINT. */
int nd_daemon_run(nd_daemon *d);
