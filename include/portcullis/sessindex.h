/* SPDX-License-Identifier: BSD-2-Clause */
/* The session index: one row per session in an SQLite database (WAL), so
 * that `portcullis-replay list` finds recordings without reading them. */
#ifndef PCL_SESSINDEX_H
#define PCL_SESSINDEX_H

#include <stddef.h>
#include <stdint.h>

/* On-disk constant: changing it breaks old indexes. The schema it names is
 * documented in lib/sessindex.c; a database with a newer one is refused. */
#define PCL_SESSINDEX_SCHEMA_VERSION 1

struct pcl_sessindex;

/* The facts of a session as the proxy knows them at its start. Borrowed
 * strings, stored byte for byte as given; NULL where unknown (stored NULL).
 * Only session_id is required. */
struct pcl_sessindex_start {
    const char *session_id;
    const char *user;
    const char *subject;      /* identity subject (OIDC sub), or NULL */
    const char *source;       /* "ADDR port N" */
    const char *target;
    const char *account;
    const char *command;      /* exec command, NULL for a shell */
    const char *rule;         /* policy rule id */
    const char *approval_id;  /* NULL without approval */
    const char *bastion;      /* bastion host name */
    const char *recording;    /* absolute path of the .cast */
    int64_t start;            /* Unix time, seconds */
};

/* Its end. Borrowed strings. */
struct pcl_sessindex_end {
    int64_t end;              /* Unix time, seconds */
    uint64_t bytes_in;        /* byte counts; stored capped at INT64_MAX */
    uint64_t bytes_out;
    uint64_t bytes_err;
    int exit_status;          /* -1 (any negative) when none: stored NULL */
    const char *exit_signal;  /* NULL or "" when none: stored NULL */
    const char *seal;         /* "sealed", "unsealed", "error" */
};

/*
 * Opens (creating when missing, with the schema and WAL mode) the index at
 * path; busy_ms bounds how long a writer waits for a lock held by another
 * session (milliseconds). Returns 0 with *out owned by the caller
 * (pcl_sessindex_close), PCL_ERR_IO (why filled) or PCL_ERR_NOMEM.
 * Creates it 0660 (SQLite gives -wal and -shm its mode) under umask 007,
 * restored on return; refuses a symlink, a non-regular file, one open to
 * others or not writable, and a newer schema_version. Its directory must be
 * trusted (root:portcullis 2770). One thread; a child after fork() must
 * neither use nor close it.
 */
int pcl_sessindex_open(const char *path, unsigned busy_ms,
                       struct pcl_sessindex **out, char *why, size_t whylen);

/* Closes; NULL is a no-op. */
void pcl_sessindex_close(struct pcl_sessindex *x);

/* Inserts the row of a starting session (end columns NULL). Returns 0 or
 * PCL_ERR_IO (logged), also for a session_id already present and for a lock
 * held longer than busy_ms. */
int pcl_sessindex_begin(struct pcl_sessindex *x,
                        const struct pcl_sessindex_start *s);

/* Completes the row of session_id (again when called twice: last wins).
 * Returns 0, PCL_ERR_NOTFOUND (no such row) or PCL_ERR_IO (logged). */
int pcl_sessindex_end(struct pcl_sessindex *x, const char *session_id,
                      const struct pcl_sessindex_end *e);

#endif /* PCL_SESSINDEX_H */
