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

/* Reads a whole file; returns a malloc'ed buffer (NUL-terminated) and its
 * length in *len, or NULL. */
static inline char *
tu_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (fp == NULL) {
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(fp);
    return buf;
}

/*
 * True when the mdoc page at path documents key: a line ".It Cm ..." that
 * names it as a whole word (lists such as ".It Cm kex , ciphers" count).
 */
static inline int
tu_man_documents(const char *path, const char *key)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    size_t kl = strlen(key);
    int found = 0;

    if (fp == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        const char *p = line;
        if (strncmp(line, ".It Cm ", 7) != 0) {
            continue;
        }
        while ((p = strstr(p, key)) != NULL) {
            char before = p == line ? ' ' : p[-1];
            char after = p[kl];
            if ((before == ' ' || before == '[') &&
                (after == ' ' || after == '\n' || after == ']' ||
                 after == '\0')) {
                found = 1;
                break;
            }
            p += kl;
        }
    }
    fclose(fp);
    return found;
}

/* What tu_undocumented passes to each key through a foreach function. */
struct tu_doc_ctx {
    const char *page;  /* mdoc source to search */
    int missing;
};

/* A foreach callback (pcl_conf_foreach_key, pcl_policy_foreach_key):
 * counts, and prints, every key the page has no .It Cm entry for. */
static inline void
tu_check_documented(const char *section, const char *key, void *ctx)
{
    struct tu_doc_ctx *d = ctx;

    if (!tu_man_documents(d->page, key)) {
        fprintf(stderr, "[%s] %s is not documented in %s\n", section, key,
                d->page);
        d->missing++;
    }
}

#endif /* PCL_TESTUTIL_H */
