/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/sessindex.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "portcullis/err.h"
#include "portcullis/log.h"
#include "portcullis/sqldb.h"

/*
 * Schema version 1 (PCL_SESSINDEX_SCHEMA_VERSION). Changing it breaks old
 * indexes and readers: add columns only with a new version and a migration.
 *
 * sessions: one row per session, inserted at its start, completed at its
 * end; until then the end columns are NULL.
 *   session_id   TEXT PRIMARY KEY  the proxy's session id (NOT NULL)
 *   user         TEXT  login name on the bastion
 *   subject      TEXT  identity subject (OIDC sub), NULL without one
 *   source       TEXT  "ADDR port N" of the client
 *   target       TEXT  target host as requested
 *   account      TEXT  account on the target
 *   command      TEXT  exec command as sent, NULL for a shell
 *   rule         TEXT  id of the policy rule that allowed it
 *   approval_id  TEXT  NULL without approval
 *   bastion      TEXT  host name of the bastion that ran it
 *   recording    TEXT  absolute path of the .cast
 *   start        INTEGER  Unix time, seconds (NOT NULL)
 *   "end"        INTEGER  Unix time, seconds; NULL while running (END is an
 *                         SQL keyword: readers must quote the name)
 *   bytes_in, bytes_out, bytes_err  INTEGER  byte counts, NULL while running
 *   exit_status  INTEGER  NULL when none (killed, or still running)
 *   exit_signal  TEXT  signal name as SSH gives it ("TERM", RFC 4254),
 *                      NULL when none
 *   seal         TEXT  "sealed", "unsealed" or "error"; NULL while running
 * Text is stored byte for byte as the proxy got it (commands and names are
 * untrusted and may hold any byte but NUL, even invalid UTF-8): whoever
 * displays it sanitizes it.
 * Indexes: sessions_start (start), sessions_user_start (user, start),
 * sessions_target_start (target, start), for listings by time, user, host.
 *
 * meta: key TEXT PRIMARY KEY, value; one row ('schema_version', 1).
 */
static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS sessions ("
    " session_id TEXT PRIMARY KEY NOT NULL,"
    " user TEXT, subject TEXT, source TEXT, target TEXT, account TEXT,"
    " command TEXT, rule TEXT, approval_id TEXT, bastion TEXT,"
    " recording TEXT,"
    " start INTEGER NOT NULL, \"end\" INTEGER,"
    " bytes_in INTEGER, bytes_out INTEGER, bytes_err INTEGER,"
    " exit_status INTEGER, exit_signal TEXT, seal TEXT);"
    "CREATE INDEX IF NOT EXISTS sessions_start ON sessions (start);"
    "CREATE INDEX IF NOT EXISTS sessions_user_start"
    " ON sessions (user, start);"
    "CREATE INDEX IF NOT EXISTS sessions_target_start"
    " ON sessions (target, start);";

static const char INSERT_SQL[] =
    "INSERT INTO sessions (session_id, user, subject, source, target,"
    " account, command, rule, approval_id, bastion, recording, start)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12);";

static const char UPDATE_SQL[] =
    "UPDATE sessions SET \"end\" = ?2, bytes_in = ?3, bytes_out = ?4,"
    " bytes_err = ?5, exit_status = ?6, exit_signal = ?7, seal = ?8"
    " WHERE session_id = ?1;";

/* The umask that keeps what SQLite creates open to the group: every
 * user's proxy writes the index through it. */
#define INDEX_UMASK 007

struct pcl_sessindex {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *update;
};

int
pcl_sessindex_open(const char *path, unsigned busy_ms,
                   struct pcl_sessindex **out, char *why, size_t whylen)
{
    struct pcl_sessindex *x = NULL;
    mode_t old_umask;
    int rc;

    *out = NULL;
    pcl_err_why(why, whylen, "no error");
    /* Whatever this call creates (the database, and -wal, -shm and the
     * rollback journal of the switch to WAL) must stay open to the group,
     * though the proxy runs with umask 027. umask is per process; the
     * proxy is single-threaded. */
    old_umask = umask(INDEX_UMASK);

    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    rc = pcl_sqldb_open(path, busy_ms, false, &x->db, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = pcl_sqldb_schema(x->db, path, SCHEMA_SQL,
                          PCL_SESSINDEX_SCHEMA_VERSION, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    if (sqlite3_prepare_v3(x->db, INSERT_SQL, -1, SQLITE_PREPARE_PERSISTENT,
                           &x->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(x->db, UPDATE_SQL, -1, SQLITE_PREPARE_PERSISTENT,
                           &x->update, NULL) != SQLITE_OK) {
        pcl_sqldb_why(x->db, path, "cannot prepare statements", why, whylen);
        goto out;
    }
    pcl_err_why(why, whylen, "no error");
    *out = x; /* transfer ownership */
    x = NULL;
    rc = PCL_OK;
out:
    pcl_sessindex_close(x);
    (void)umask(old_umask);
    return rc;
}

void
pcl_sessindex_close(struct pcl_sessindex *x)
{
    if (x == NULL) {
        return;
    }
    sqlite3_finalize(x->insert);
    sqlite3_finalize(x->update);
    /* The last connection to close checkpoints the WAL into the database
     * and removes -wal and -shm. */
    (void)sqlite3_close(x->db);
    free(x);
}

/* Binds text, or NULL for NULL. The strings outlive the step. */
static int
bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL) {
        return sqlite3_bind_null(st, idx);
    }
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

/* SQLite integers are signed 64-bit. */
static int
bind_count(sqlite3_stmt *st, int idx, uint64_t n)
{
    return sqlite3_bind_int64(st, idx, n > (uint64_t)INT64_MAX
                                           ? INT64_MAX
                                           : (sqlite3_int64)n);
}

int
pcl_sessindex_begin(struct pcl_sessindex *x,
                    const struct pcl_sessindex_start *s)
{
    const char *text[] = {
        s->session_id, s->user, s->subject, s->source, s->target,
        s->account, s->command, s->rule, s->approval_id, s->bastion,
        s->recording,
    };
    char id[80];
    size_t i;
    int b = SQLITE_OK;
    int rc = PCL_ERR_IO;

    assert(x != NULL && s->session_id != NULL);
    for (i = 0; b == SQLITE_OK && i < sizeof(text) / sizeof(text[0]); i++) {
        b = bind_text(x->insert, (int)i + 1, text[i]);
    }
    if (b == SQLITE_OK) {
        b = sqlite3_bind_int64(x->insert, (int)i + 1, s->start);
    }
    if (b != SQLITE_OK || sqlite3_step(x->insert) != SQLITE_DONE) {
        /* A duplicate session_id lands here too (UNIQUE constraint). */
        error("session index: cannot record the start of session %s: %s",
              pcl_log_sanitize(id, sizeof(id), s->session_id),
              sqlite3_errmsg(x->db));
        goto out;
    }
    rc = PCL_OK;
out:
    sqlite3_reset(x->insert);
    sqlite3_clear_bindings(x->insert);
    return rc;
}

int
pcl_sessindex_end(struct pcl_sessindex *x, const char *session_id,
                  const struct pcl_sessindex_end *e)
{
    sqlite3_stmt *st = x->update;
    const char *sig = e->exit_signal;
    char id[80];
    int rc = PCL_ERR_IO;

    assert(session_id != NULL);
    if (sig != NULL && sig[0] == '\0') {
        sig = NULL;
    }
    if (bind_text(st, 1, session_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, e->end) != SQLITE_OK ||
        bind_count(st, 3, e->bytes_in) != SQLITE_OK ||
        bind_count(st, 4, e->bytes_out) != SQLITE_OK ||
        bind_count(st, 5, e->bytes_err) != SQLITE_OK ||
        (e->exit_status < 0 ? sqlite3_bind_null(st, 6)
                            : sqlite3_bind_int(st, 6, e->exit_status)) !=
            SQLITE_OK ||
        bind_text(st, 7, sig) != SQLITE_OK ||
        bind_text(st, 8, e->seal) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        error("session index: cannot record the end of session %s: %s",
              pcl_log_sanitize(id, sizeof(id), session_id),
              sqlite3_errmsg(x->db));
        goto out;
    }
    /* One statement, so changes() is this UPDATE's: 0 when no row has the
     * id (the start was never recorded). */
    rc = sqlite3_changes(x->db) == 0 ? PCL_ERR_NOTFOUND : PCL_OK;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}
