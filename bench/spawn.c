/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-spawn N [MIB]: start /bin/true N times with fork()+execv() and N
 * times with posix_spawn(), from a process that first allocates and
 * touches MIB MiB (64 by default; a large netd), and print in one line
 * the median time each call keeps its caller blocked, and their ratio.
 * That is what runtime/spawn.c costs netd's loop per monitor: fork()
 * copies the page tables before it returns; glibc's posix_spawn() clones
 * with CLONE_VM|CLONE_VFORK and returns once the child has exec'd.
 * Each child is reaped after its timing.  Exits 1 if a start failed.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char *const true_argv[] = { (char *) "true", NULL };

static long long now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;
        return x < y ? -1 : x > y;
}

static double median_us(long long *ns, int n) {
        qsort(ns, (size_t) n, sizeof(*ns), cmp_ll);
        return (n % 2 ? (double) ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2.0) / 1e3;
}

static int reap(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int start_fork(long long *ret_ns) {
        long long t = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
                execv("/bin/true", true_argv);
                _exit(127);
        }
        *ret_ns = now_ns() - t;
        return pid < 0 ? -1 : reap(pid);
}

static int start_posix_spawn(long long *ret_ns) {
        long long t = now_ns();
        pid_t pid;
        int r = posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, environ);
        *ret_ns = now_ns() - t;
        return r != 0 ? -1 : reap(pid);
}

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 0;
        long mib = argc > 2 ? atol(argv[2]) : 64;
        if (argc < 2 || argc > 3 || n < 1 || mib < 0) {
                fprintf(stderr, "usage: bench-spawn N [MIB]\n");
                return 2;
        }
        size_t size = (size_t) mib << 20;
        char *mem = malloc(size ? size : 1);
        long long *t_fork = calloc((size_t) n, sizeof(long long)), *t_spawn = calloc((size_t) n, sizeof(long long));
        if (!mem || !t_fork || !t_spawn) {
                fprintf(stderr, "bench-spawn: out of memory\n");
                return 1;
        }
        /* every page touched, so that each has a page table entry */
        memset(mem, 1, size);

        /* interleaved, so that both see the same machine */
        for (int i = 0; i < n; i++)
                if (start_fork(&t_fork[i]) < 0 || start_posix_spawn(&t_spawn[i]) < 0) {
                        fprintf(stderr, "bench-spawn: starting /bin/true failed\n");
                        return 1;
                }
        double f = median_us(t_fork, n), s = median_us(t_spawn, n);
        printf("bench-spawn: %d starts of /bin/true from %ld MiB touched: fork+exec median %.1f us, "
               "posix_spawn median %.1f us, ratio %.1fx\n", n, mib, f, s, s > 0 ? f / s : 0.0);
        free(t_spawn);
        free(t_fork);
        free(mem);
        return 0;
}
