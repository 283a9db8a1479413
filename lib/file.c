/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/file.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portcullis/err.h"

uid_t
pcl_file_trusted_uid(void)
{
    uid_t ru, eu, su;
    gid_t rg, eg, sg;

    /* The saved ids count too: while the effective group is lowered to
     * open a configuration file, the process is still set-id. AT_SECURE
     * covers a file capability (CAP_AUDIT_WRITE) without set-id bits. */
    if (getauxval(AT_SECURE) != 0 ||
        getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
        ru != eu || ru != su || rg != eg || rg != sg) {
        return (uid_t)-1;
    }
    return ru;
}

/* Checks st (of path) against kind; fills why. */
static int
check_stat(const char *path, const struct stat *st, enum pcl_file_kind kind,
           char *why, size_t whylen)
{
    uid_t trusted = pcl_file_trusted_uid();

    if (st->st_uid != 0 && st->st_uid != trusted) {
        snprintf(why, whylen, "%s: not owned by root", path);
        return PCL_ERR_PERM;
    }
    if (kind == PCL_FILE_DIR || kind == PCL_FILE_SPOOL) {
        if (!S_ISDIR(st->st_mode)) {
            snprintf(why, whylen, "%s: not a directory", path);
            return PCL_ERR_PERM;
        }
    } else if (!S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", path);
        return PCL_ERR_PERM;
    }
    if ((st->st_mode & S_IWOTH) != 0 ||
        (kind != PCL_FILE_SPOOL && (st->st_mode & S_IWGRP) != 0)) {
        snprintf(why, whylen, "%s: writable by %s (mode %04o)",
                 path, kind == PCL_FILE_SPOOL ? "others" : "group or others",
                 (unsigned)(st->st_mode & 07777));
        return PCL_ERR_PERM;
    }
    /* What a proxy creates in a spool belongs to its user (mode 0660 or
     * 0640): only the directory keeps that user from opening it again,
     * outside the proxy, to rewrite a store or a recording. */
    if (kind == PCL_FILE_SPOOL && (st->st_mode & S_IRWXO) != 0) {
        snprintf(why, whylen, "%s: open to others (mode %04o); it must be "
                 "2770", path, (unsigned)(st->st_mode & 07777));
        return PCL_ERR_PERM;
    }
    if (kind == PCL_FILE_SECRET && (st->st_mode & S_IRWXO) != 0) {
        snprintf(why, whylen, "%s: readable by others (mode %04o); a secret "
                 "must be 0640 or stricter", path,
                 (unsigned)(st->st_mode & 07777));
        return PCL_ERR_PERM;
    }
    return PCL_OK;
}

static int open_checked(const char *path, enum pcl_file_kind kind,
                        FILE **out, char *why, size_t whylen);

/* Every directory above a trusted file must be trusted too, or whoever may
 * write to it could swap the file. A root-owned sticky dir is safe. */
static int
check_parents(const char *path, char *why, size_t whylen)
{
    char dir[4096];
    struct stat st;
    char *slash;
    uid_t trusted = pcl_file_trusted_uid();

    if (path[0] != '/') {
        snprintf(why, whylen, "%s: not an absolute path", path);
        return PCL_ERR_PERM;
    }
    if (strlen(path) >= sizeof(dir)) {
        snprintf(why, whylen, "path too long");
        return PCL_ERR_PERM;
    }
    /* The directories that really hold the file: a symlink on the way
     * must not hide a directory someone else may write. */
    {
        char tmp[PATH_MAX];
        char real[PATH_MAX];
        char *cut;
        size_t rl;
        snprintf(tmp, sizeof(tmp), "%s", path);
        cut = strrchr(tmp, '/');
        if (cut == tmp) {
            tmp[1] = '\0';
        } else {
            *cut = '\0';
        }
        if (realpath(tmp, real) == NULL) {
            int e = errno;
            /* The file first: it is what the caller asked for. */
            snprintf(why, whylen, "%s: directory %s: %s", path, tmp,
                     strerror(e));
            return e == ENOENT ? PCL_ERR_NOTFOUND : PCL_ERR_PERM;
        }
        rl = strcmp(real, "/") == 0 ? 0 : strlen(real);
        if (rl + 3 > sizeof(dir)) {
            snprintf(why, whylen, "path too long");
            return PCL_ERR_PERM;
        }
        memcpy(dir, real, rl);
        memcpy(dir + rl, "/x", 3);
    }
    for (;;) {
        slash = strrchr(dir, '/');
        if (slash == NULL) {
            break;
        }
        if (slash == dir) {
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
        if (stat(dir, &st) != 0) {
            snprintf(why, whylen, "%s: %s", dir, strerror(errno));
            return PCL_ERR_PERM;
        }
        if (st.st_uid != 0 && st.st_uid != trusted) {
            snprintf(why, whylen, "%s: directory not owned by root", dir);
            return PCL_ERR_PERM;
        }
        /* A sticky directory owned by root (/tmp) lets nobody else
         * rename or remove an entry owned by root, so it may stay. */
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
            !((st.st_mode & S_ISVTX) != 0 && st.st_uid == 0)) {
            snprintf(why, whylen, "%s: directory writable by group or "
                     "others (mode %04o)", dir,
                     (unsigned)(st.st_mode & 07777));
            return PCL_ERR_PERM;
        }
        if (strcmp(dir, "/") == 0) {
            break;
        }
    }
    return PCL_OK;
}

int
pcl_file_open(const char *path, enum pcl_file_kind kind, FILE **out,
              char *why, size_t whylen)
{
    gid_t egid = getegid();
    bool lowered = false;
    int rc;

    /*
     * Configuration is public (0644): it is read with the invoking user's
     * own group, so that `portcullis -t -f FILE` cannot be used to read, or
     * learn the existence of, a file only group portcullis may see.
     */
    if (kind == PCL_FILE_CONFIG && getgid() != egid) {
        if (setegid(getgid()) != 0) {
            snprintf(why, whylen, "cannot lower group: %s", strerror(errno));
            return PCL_ERR_SYSTEM;
        }
        lowered = true;
    }
    rc = open_checked(path, kind, out, why, whylen);
    if (lowered && setegid(egid) != 0) {
        /* Unreachable in practice; never go on with the wrong group. */
        if (*out != NULL) {
            fclose(*out);
            *out = NULL;
        }
        snprintf(why, whylen, "cannot restore group: %s", strerror(errno));
        return PCL_ERR_SYSTEM;
    }
    return rc;
}

static int
open_checked(const char *path, enum pcl_file_kind kind, FILE **out,
             char *why, size_t whylen)
{
    struct stat st;
    int fd = -1;
    int rc;

    *out = NULL;
    rc = check_parents(path, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? PCL_ERR_NOTFOUND
             : errno == ELOOP ? PCL_ERR_PERM : PCL_ERR_SYSTEM;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
        return PCL_ERR_SYSTEM;
    }
    rc = check_stat(path, &st, kind, why, whylen);
    if (rc != PCL_OK) {
        close(fd);
        return rc;
    }
    *out = fdopen(fd, "r");
    if (*out == NULL) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
        return PCL_ERR_SYSTEM;
    }
    return PCL_OK;
}

/* Checks path (not followed if a symbolic link) and its directories
 * against kind; *st receives its lstat. */
static int
check_path(const char *path, enum pcl_file_kind kind, struct stat *st,
           char *why, size_t whylen)
{
    int rc;

    rc = check_parents(path, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    if (lstat(path, st) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? PCL_ERR_NOTFOUND : PCL_ERR_SYSTEM;
    }
    return check_stat(path, st, kind, why, whylen);
}

int
pcl_file_check_dir(const char *path, enum pcl_file_kind kind, char *why,
                   size_t whylen)
{
    struct stat st;

    return check_path(path, kind, &st, why, whylen);
}

int
pcl_file_check_program(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int rc;

    rc = check_path(path, PCL_FILE_CONFIG, &st, why, whylen);
    if (rc == PCL_OK && (st.st_mode & S_IXUSR) == 0) {
        snprintf(why, whylen, "%s: not executable", path);
        rc = PCL_ERR_PERM;
    }
    return rc;
}

int
pcl_file_mkdirs(const char *base, const char *rel, char *why, size_t whylen)
{
    char path[4096];
    size_t blen = strlen(base);
    size_t i;
    mode_t old;
    int rc = PCL_OK;

    if (blen + 1 + strlen(rel) >= sizeof(path)) {
        snprintf(why, whylen, "path too long");
        return PCL_ERR_SYSTEM;
    }
    memcpy(path, base, blen);
    path[blen] = '/';
    memcpy(path + blen + 1, rel, strlen(rel) + 1);
    /* The group must be able to write what one user's proxy creates. */
    old = umask(0);
    for (i = blen + 1; path[i] != '\0' && rc == PCL_OK; i++) {
        if (path[i] != '/') {
            continue;
        }
        path[i] = '\0';
        if (mkdir(path, 03770) != 0 && errno != EEXIST) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            rc = PCL_ERR_SYSTEM;
        }
        path[i] = '/';
    }
    umask(old);
    return rc;
}

int
pcl_file_read_secret(const char *path, size_t maxlen, uint8_t **out,
                     size_t *len, char *why, size_t whylen)
{
    FILE *fp = NULL;
    uint8_t *p = NULL;
    size_t cap = maxlen + 1;
    size_t n = 0;
    size_t got;
    int rc;

    *out = NULL;
    *len = 0;
    rc = pcl_file_open(path, PCL_FILE_SECRET, &fp, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    /* No stdio buffering: the secret must exist in one place we wipe. */
    setvbuf(fp, NULL, _IONBF, 0);
    p = malloc(cap);
    if (p == NULL) {
        rc = PCL_ERR_NOMEM;
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    (void)mlock(p, cap);
    while (n < cap) {
        got = fread(p + n, 1, cap - n, fp);
        if (got == 0) {
            break;
        }
        n += got;
    }
    if (ferror(fp)) {
        rc = PCL_ERR_SYSTEM;
        snprintf(why, whylen, "%s: read error", path);
        goto out;
    }
    if (n > maxlen) {
        rc = PCL_ERR_TOOBIG;
        snprintf(why, whylen, "%s: larger than %zu bytes", path, maxlen);
        goto out;
    }
    p[n] = '\0';
    *out = p; /* transfer ownership */
    *len = n;
    p = NULL;
    rc = PCL_OK;
out:
    if (p != NULL) {
        pcl_file_secret_free(p, cap - 1);
    }
    fclose(fp);
    return rc;
}

void
pcl_file_secret_free(uint8_t *p, size_t len)
{
    if (p == NULL) {
        return;
    }
    /* The allocation is len + 1 bytes or more (the terminating NUL). */
    explicit_bzero(p, len + 1);
    (void)munlock(p, len + 1);
    free(p);
}
