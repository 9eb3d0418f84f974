/* SPDX-License-Identifier: Apache-2.0 */
/* The local store's recovery path: arbitrary bytes as store.log (a disk
 * can hold anything).  Invariants: open succeeds (a bad tail is cut off),
 * and the store is usable afterwards. */
#include <assert.h>
#include <ev.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_done(void *ud, int r, int64_t rev) {
        *(int *) ud = r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct ev_loop *loop;
        static char dir[64];
        char path[128];
        nd_store *s = NULL;
        int fd, r = 1;

        if (!loop) {
                loop = ev_loop_new(EVFLAG_AUTO);
                nd_log_max_level = -1;
                snprintf(dir, sizeof(dir), "%s/nd-fuzz-store-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
                assert(mkdtemp(dir));
        }
        snprintf(path, sizeof(path), "%s/store.log", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert(fd >= 0);
        assert(write(fd, data, size) == (ssize_t) size);
        close(fd);
        assert(nd_store_local_open_at(loop, dir, &s) == 0);
        assert(nd_store_put(s, "/fuzz/k", "v", 0, on_done, &r) == 0);
        /* the put is handed to the store's writer thread at the first
         * iteration; the iteration sleeps until it is durable */
        while (r == 1)
                ev_run(loop, EVRUN_ONCE);
        assert(r == 0);
        nd_store_free(s);
        unlink(path);
        return 0;
}
