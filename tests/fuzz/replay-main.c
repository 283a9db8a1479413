/* SPDX-License-Identifier: BSD-2-Clause */
/* A plain main() for the fuzz targets when they are not built with
 * libFuzzer: runs LLVMFuzzerTestOneInput once on every file named on the
 * command line or found in a directory named there (not recursive); with
 * no argument, on the target's seed corpus (FUZZ_CORPUS, set by
 * Makefile.am). `make check` runs it, so every corpus file (seeds and
 * the regression inputs of findings) is replayed on every build, under
 * ASan + UBSan in the sanitizer build of scripts/test.sh. */
#include "config.h"

#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest input replayed, in bytes (libFuzzer's default -max_len is far
 * smaller; seeds stay small). */
#define REPLAY_MAX (1u << 20)

static int
replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;
    int rc = -1;

    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(REPLAY_MAX);
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    n = fread(buf, 1, REPLAY_MAX, fp);
    if (ferror(fp)) {
        fprintf(stderr, "%s: read error\n", path);
        goto out;
    }
    /* An exact-size copy, so ASan sees a read past the input's end. */
    {
        uint8_t *exact = malloc(n > 0 ? n : 1);

        if (exact == NULL) {
            goto out;
        }
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    rc = 0;
out:
    free(buf);
    fclose(fp);
    return rc;
}

static int
replay_dir(const char *dir, unsigned *count)
{
    struct dirent **names = NULL;
    char path[4096];
    int n, i;
    int rc = 0;

    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct stat st;

        if (names[i]->d_name[0] != '.' &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
                             names[i]->d_name) < sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) != 0) {
                rc = -1;
            } else {
                (*count)++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *deflt[] = { FUZZ_CORPUS };
    const char *const *args = (const char *const *)argv + 1;
    unsigned count = 0;
    int nargs = argc - 1;
    int i;
    int rc = 0;

    if (nargs == 0) {
        args = deflt;
        nargs = 1;
    }
    for (i = 0; i < nargs; i++) {
        struct stat st;

        if (stat(args[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", args[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(args[i], &count) != 0) {
                rc = 1;
            }
        } else if (replay_file(args[i]) != 0) {
            rc = 1;
        } else {
            count++;
        }
    }
    printf("%s: %u input(s) replayed\n", argv[0], count);
    if (count == 0) {
        fprintf(stderr, "no input replayed: an empty corpus tests nothing\n");
        rc = 1;
    }
    return rc;
}
