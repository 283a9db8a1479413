/* SPDX-License-Identifier: BSD-2-Clause */
/* Read-only queries of the session index (lib/sessindex.c, schema 1):
 * `portcullis-replay list` and finding a session's recording by its id. */
#ifndef PCL_SESSQUERY_H
#define PCL_SESSQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Filters; NULL or "unset" fields do not filter. Strings borrowed. */
struct pcl_sessquery_filter {
    const char *user;          /* exact login name */
    const char *target;        /* exact target name */
    const char *command;       /* substring of the command */
    bool has_since;
    int64_t since;             /* start >= since, Unix seconds */
    bool has_until;
    int64_t until;             /* start < until, Unix seconds */
    bool has_exit;
    int exit_status;           /* exit_status = this */
    const char *session_id;    /* exact id, or a unique prefix of one */
};

/* One row, as stored: strings may be NULL (unknown) and hold any byte;
 * whoever shows them escapes them (pcl_sessquery_escape). */
struct pcl_sessquery_row {
    const char *session_id;
    const char *user;
    const char *source;
    const char *target;
    const char *account;
    const char *command;
    const char *rule;
    const char *bastion;
    const char *recording;
    int64_t start;
    bool has_end;
    int64_t end;
    bool has_exit;
    int exit_status;
    const char *exit_signal;
    const char *seal;
};

/* Called for each row, oldest first; the row is valid during the call.
 * A non-zero return stops the query. */
typedef int (*pcl_sessquery_fn)(const struct pcl_sessquery_row *row,
                                void *ctx);

/*
 * Runs a query over the index at path (opened read-only; never created).
 * Returns 0 (rows may be none), PCL_ERR_NOTFOUND (no index file) or
 * PCL_ERR_IO (why says what SQLite said), or fn's non-zero return.
 */
int pcl_sessquery_run(const char *path,
                      const struct pcl_sessquery_filter *f,
                      pcl_sessquery_fn fn, void *ctx, char *why,
                      size_t whylen);

/*
 * Copies untrusted text for a terminal or a table: valid UTF-8 printable
 * characters are kept; control characters, DEL, C1 controls and invalid
 * bytes become \xNN, a backslash becomes \\. NULL becomes "-". Writes at
 * most cap bytes (always terminated, cut on a character boundary); returns
 * dst.
 */
char *pcl_sessquery_escape(const char *src, char *dst, size_t cap);

/* Writes the heading of the session table to fp. */
void pcl_sessquery_print_heading(FILE *fp);

/* Writes one row of the session table to fp: id, start (UTC), state,
 * user, target, exit status, command; every value escaped
 * (pcl_sessquery_escape) and cut to its column's width or 200 bytes. */
void pcl_sessquery_print_row(FILE *fp, const struct pcl_sessquery_row *r);

#endif /* PCL_SESSQUERY_H */
