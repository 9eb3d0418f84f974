/* SPDX-License-Identifier: Apache-2.0 */
/* \file nd-forward.h  Forward declarations shared by headers. */
#pragma once

#include "macro.h"

typedef struct nd_manager nd_manager;
typedef struct nd_network nd_network;
typedef struct nd_network_spec nd_network_spec;
typedef struct nd_store nd_store;
typedef struct nd_subnet nd_subnet;
typedef struct nd_pool nd_pool;
typedef struct nd_diag nd_diag;
typedef struct nd_http_request nd_http_request;
