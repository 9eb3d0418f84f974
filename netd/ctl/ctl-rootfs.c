/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl rootfs init: a root filesystem built on this host from Debian's
 * busybox-static; the daemon is asked only where its default rootfs is.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"

static const char rootfs_usage[] =
        "Usage: netctl rootfs init [DIR]\n"
        "\n"
        "Build a root filesystem from Debian's busybox-static: /bin/busybox and a\n"
        "link for every applet, /etc/passwd and /etc/group.  DIR defaults to the\n"
        "daemon's default rootfs (netctl asks the daemon where it is).\n";

/* A static binary has no PT_INTERP program header. */
static int is_static_elf(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Elf64_Ehdr eh;
        if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
            eh.e_ident[EI_CLASS] != ELFCLASS64)
                return 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof(ph), (off_t) (eh.e_phoff + i * eh.e_phentsize)) != sizeof(ph))
                        return 0;
                if (ph.p_type == PT_INTERP)
                        return 0;
        }
        return 1;
}

static int mkdirs(const char *path) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        char tmp[PATH_MAX + 8], buf[65536];
        snprintf(tmp, sizeof(tmp), "%s.tmp", to);
        _cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ssize_t k;
        if (in < 0 || out < 0)
                return -errno;
        while ((k = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t) k) != k)
                        return -EIO;
        if (k < 0 || fchmod(out, mode) < 0)
                return -errno;
        return rename(tmp, to) < 0 ? -errno : 0;
}

static int write_small(const char *dir, const char *name, const char *text) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        FILE *f = fopen(p, "we");
        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -errno;
}

int ctl_rootfs(int argc, char **argv) {
        static const char *const dirs[] = { "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev",
                                            "tmp", "root", "var/www", "run", "home" };
        char dir[PATH_MAX], p[PATH_MAX + 64];
        const char *busybox = "/bin/busybox";
        int r;

        if (argc < 2 || wants_help(argc, argv)) {
                fputs(rootfs_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strcmp(argv[1], "init") != 0 || argc > 3) {
                fputs(rootfs_usage, stderr);
                return 2;
        }
        if (argc == 3)
                snprintf(dir, sizeof(dir), "%s", argv[2]);
        else {
                _cleanup_json_ json_t *info = NULL;
                long st = call("GET", "/v1/info", NULL, &info);
                if (st != 200)
                        return fail(st, info, "asking the daemon for its default rootfs");
                snprintf(dir, sizeof(dir), "%s", json_string_value(json_object_get(info, "DefaultRootfs")));
        }
        if (access(busybox, X_OK) < 0 || !is_static_elf(busybox)) {
                fprintf(stderr, "netctl: %s is missing or not statically linked; install Debian's busybox-static "
                        "(apt-get install busybox-static)\n", busybox);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
                if ((r = mkdirs(p)) < 0) {
                        fprintf(stderr, "netctl: mkdir %s: %s\n", p, strerror(-r));
                        return 1;
                }
        }
        snprintf(p, sizeof(p), "%s/tmp", dir);
        chmod(p, 01777);
        snprintf(p, sizeof(p), "%s/bin/busybox", dir);
        if ((r = copy_file(busybox, p, 0755)) < 0) {
                fprintf(stderr, "netctl: copying busybox: %s\n", strerror(-r));
                return 1;
        }
        /* one link per applet, at the path busybox itself reports */
        FILE *list = popen("/bin/busybox --list-full", "r");
        char line[256];
        unsigned n = 0;
        while (list && fgets(line, sizeof(line), list)) {
                line[strcspn(line, "\n")] = 0;
                if (!*line || strstr(line, "..") || strcmp(line, "bin/busybox") == 0)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, line);
                char *slash = strrchr(p, '/');
                *slash = 0;
                mkdirs(p);
                *slash = '/';
                unlink(p);
                if (symlink("/bin/busybox", p) == 0)
                        n++;
        }
        if (!list || pclose(list) != 0 || n == 0) {
                fprintf(stderr, "netctl: listing busybox applets failed\n");
                return 1;
        }
        if (write_small(dir, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") < 0 ||
            write_small(dir, "etc/group", "root:x:0:\nnogroup:x:65534:\n") < 0 ||
            write_small(dir, "var/www/index.html", "hello from netd\n") < 0) {
                fprintf(stderr, "netctl: writing /etc files: %s\n", strerror(errno));
                return 1;
        }
        printf("%s: busybox with %u applets\n", dir, n);
        return 0;
}
