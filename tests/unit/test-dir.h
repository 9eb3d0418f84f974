/* SPDX-License-Identifier: Apache-2.0 */
/* \file test-dir.h  A flat scratch directory for unit tests (cmocka). */
#pragma once

#include <dirent.h>
#include <string.h>
#include <unistd.h>

/* Remove @dir and the files in it (no subdirectories). */
static inline void nd_test_rm_rf(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
        closedir(d);
        assert_int_equal(rmdir(dir), 0);
}
