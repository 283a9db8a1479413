/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the unit tests: scratch files with chosen modes. */
#ifndef PCL_TESTUTIL_H
#define PCL_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes a private scratch directory; path (len bytes) receives it. */
static inline int
tu_mkdtemp(char *path, size_t len)
{
    snprintf(path, len, "/tmp/pcl-unit.XXXXXX");
    if (mkdtemp(path) == NULL) {
        return -1;
    }
    return chmod(path, 0755);
}

/* Writes text to dir/name with mode; full path goes to out (outlen). */
static inline int
tu_write(const char *dir, const char *name, const char *text, mode_t mode,
         char *out, size_t outlen)
{
    FILE *fp;

    snprintf(out, outlen, "%s/%s", dir, name);
    fp = fopen(out, "w");
    if (fp == NULL) {
        return -1;
    }
    fputs(text, fp);
    if (fclose(fp) != 0) {
        return -1;
    }
    return chmod(out, mode);
}

/* Removes dir and the files tests put in it (one level, no subdirs). */
static inline void
tu_rmtree(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) {
            (void)rmdir(path);
        }
    }
    closedir(d);
    (void)rmdir(dir);
}

#endif /* PCL_TESTUTIL_H */
