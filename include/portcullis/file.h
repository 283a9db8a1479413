/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening files the proxy trusts: ownership and mode checked on the open
 * descriptor, so a setgid process cannot be steered to a user's file. */
#ifndef PCL_FILE_H
#define PCL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum pcl_file_kind {
    PCL_FILE_CONFIG,  /* trusted owner; not writable by group or others */
    PCL_FILE_SECRET,  /* as CONFIG, and not readable by others either */
    PCL_FILE_DIR,     /* a directory: trusted owner, not writable by group
                       * or others */
    PCL_FILE_SPOOL,   /* a directory the set-id group writes (recordings):
                       * trusted owner, no access for others at all */
};

/*
 * The uid that may own trusted files besides root: the real uid when the
 * process holds no set-id privilege (a developer's private bastion), or
 * (uid_t)-1 when it does. Computed from the real, effective and saved ids
 * and AT_SECURE (set for a set-id program or one with file capabilities).
 */
uid_t pcl_file_trusted_uid(void);

/*
 * Opens path read-only without following a final symlink and checks the
 * open file against kind. On success *out is an owned FILE* (fclose).
 * Returns 0, PCL_ERR_NOTFOUND, PCL_ERR_PERM (with why filled, whylen bytes)
 * or PCL_ERR_SYSTEM.
 */
int pcl_file_open(const char *path, enum pcl_file_kind kind, FILE **out,
                  char *why, size_t whylen);

/* Checks a directory path against kind (PCL_FILE_DIR or PCL_FILE_SPOOL);
 * returns as pcl_file_open. */
int pcl_file_check_dir(const char *path, enum pcl_file_kind kind, char *why,
                       size_t whylen);

/* Checks a program the set-id proxy runs (the vault helper): a regular
 * file, not a symbolic link, owned by root, not writable by group or
 * others, executable, in trusted directories. Returns as pcl_file_open. */
int pcl_file_check_program(const char *path, char *why, size_t whylen);

/*
 * Creates the directories of path below base (which must exist) that are
 * missing, mode 03770 (setgid, sticky, group-writable: every user's proxy
 * adds its own files, none can remove another's). Returns 0 or
 * PCL_ERR_SYSTEM with why filled.
 */
int pcl_file_mkdirs(const char *base, const char *rel, char *why,
                    size_t whylen);

/*
 * Reads a secret file (at most maxlen bytes) checked as PCL_FILE_SECRET into
 * memory locked where the system allows. *out is owned by the caller and
 * must be released with pcl_file_secret_free(*out, *len), which wipes it.
 * Returns 0, PCL_ERR_NOTFOUND, PCL_ERR_PERM, PCL_ERR_TOOBIG, PCL_ERR_NOMEM
 * or PCL_ERR_SYSTEM; why says which (no secret bytes in it).
 */
int pcl_file_read_secret(const char *path, size_t maxlen, uint8_t **out,
                         size_t *len, char *why, size_t whylen);

/* Wipes and frees a buffer from pcl_file_read_secret; NULL is a no-op. */
void pcl_file_secret_free(uint8_t *p, size_t len);

#endif /* PCL_FILE_H */
