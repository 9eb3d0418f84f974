/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target over every file of its corpus: the corpus doubles as
 * a regression suite without libFuzzer (meson test --suite fuzz). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        unsigned n = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                if (!d) {
                        perror(argv[i]);
                        return 1;
                }
                while ((de = readdir(d))) {
                        char path[4096];
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        FILE *f = fopen(path, "rb");
                        if (!f)
                                continue;
                        uint8_t *buf = malloc(1 << 20);
                        size_t k = fread(buf, 1, 1 << 20, f);
                        fclose(f);
                        LLVMFuzzerTestOneInput(buf, k);
                        free(buf);
                        n++;
                }
                closedir(d);
        }
        printf("%u inputs replayed\n", n);
        return n ? 0 : 1;
}
