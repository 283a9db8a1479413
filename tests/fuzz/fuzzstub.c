/* SPDX-License-Identifier: BSD-2-Clause */
/* Replays a fuzz target's corpus without libFuzzer, so that `make check`
 * runs every input of tests/fuzz/corpus/NAME (or the files and
 * directories given as arguments) through LLVMFuzzerTestOneInput. A crash
 * or a sanitizer report fails the test. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "fuzzstub: cannot read %s\n", path);
        if (fp != NULL) {
            fclose(fp);
        }
        return 1;
    }
    /* An exact-size copy, so that a read past the input is caught by ASan
     * as it would be under libFuzzer. */
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        fclose(fp);
        free(buf);
        return 1;
    }
    fclose(fp);
    (void)LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

static int
run_path(const char *path, int *n)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char p[4096];
    int bad = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzzstub: %s: not found\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*n)++;
        return run_file(path);
    }
    d = opendir(path);
    if (d == NULL) {
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        bad |= run_path(p, n);
    }
    closedir(d);
    return bad;
}

int
main(int argc, char **argv)
{
    int n = 0;
    int bad = 0;
    int i;

    if (argc < 2) {
        bad = run_path(TEST_SRCDIR "/tests/fuzz/corpus/" FUZZ_NAME, &n);
    }
    for (i = 1; i < argc; i++) {
        bad |= run_path(argv[i], &n);
    }
    printf("fuzz_%s: %d inputs replayed\n", FUZZ_NAME, n);
    return bad != 0 || n == 0;
}
