/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/approval.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "portcullis/err.h"
#include "portcullis/log.h"
#include "portcullis/sqldb.h"

/*
 * Schema version 1 (PCL_APPROVAL_SCHEMA_VERSION). Changing it breaks old
 * stores: add columns only with a new version and a migration.
 *
 * requests: one row per request, for ever (the audit trail has the same
 * facts; this is the working state).
 *   id          TEXT PRIMARY KEY  8 characters [a-z2-9]
 *   state       TEXT  pending | approved | denied | cancelled | expired |
 *                     revoked
 *   user, target, account  TEXT  who asks for what
 *   command     TEXT  NULL: every session; else this exec command only
 *   reason      TEXT  the requester's words, byte for byte (untrusted:
 *                     whoever shows it escapes it)
 *   session_id  TEXT  the requesting proxy's session
 *   required    INTEGER  distinct approvals needed
 *   grant_ttl   INTEGER  seconds a grant lasts at most
 *   created, expires, updated  INTEGER  Unix seconds
 *   grant_until INTEGER  Unix seconds the grant ends; NULL before
 *   decided_by  TEXT  who denied or revoked; NULL otherwise
 *   comment     TEXT  the last decision's comment, or NULL
 * decisions: one row per approver and request (PRIMARY KEY of both: an
 * approver counts once, whatever the races).
 *   request_id, approver TEXT; verdict TEXT approve | deny;
 *   for_seconds INTEGER (NULL: the request's grant_ttl); comment TEXT;
 *   time INTEGER (Unix seconds)
 */
static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS requests ("
    " id TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL,"
    " user TEXT NOT NULL, target TEXT NOT NULL, account TEXT NOT NULL,"
    " command TEXT, reason TEXT NOT NULL, session_id TEXT,"
    " required INTEGER NOT NULL, grant_ttl INTEGER NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, grant_until INTEGER,"
    " decided_by TEXT, comment TEXT);"
    "CREATE INDEX IF NOT EXISTS requests_state ON requests (state, created);"
    "CREATE INDEX IF NOT EXISTS requests_grant"
    " ON requests (user, target, account, state);"
    "CREATE TABLE IF NOT EXISTS decisions ("
    " request_id TEXT NOT NULL, approver TEXT NOT NULL,"
    " verdict TEXT NOT NULL, for_seconds INTEGER, comment TEXT,"
    " time INTEGER NOT NULL, PRIMARY KEY (request_id, approver));";

/* The columns pcl_approval_request is read from, in row_read's order. */
#define REQUEST_COLUMNS \
    "r.id, r.state, r.user, r.target, r.account, r.command, r.reason," \
    " r.decided_by, r.comment, r.required, r.grant_ttl, r.created," \
    " r.expires, r.grant_until," \
    " (SELECT group_concat(approver, ',') FROM (SELECT approver FROM" \
    "  decisions d WHERE d.request_id = r.id AND d.verdict = 'approve'" \
    "  ORDER BY d.time, d.approver))," \
    " (SELECT count(*) FROM decisions d WHERE d.request_id = r.id" \
    "  AND d.verdict = 'approve')"

#define STORE_UMASK 007

/* Longest user, target, account, reason, command and comment stored. */
#define FIELD_MAX 4096

struct pcl_approval {
    sqlite3 *db;
    char path[PATH_MAX];
};

static const char *const state_names[] = {
    "pending", "approved", "denied", "cancelled", "expired", "revoked",
};

const char *
pcl_approval_state_name(enum pcl_approval_state st)
{
    if ((size_t)st >= sizeof(state_names) / sizeof(state_names[0])) {
        return "unknown";
    }
    return state_names[st];
}

static int
state_from_name(const char *name, enum pcl_approval_state *out)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof(state_names) /
                                        sizeof(state_names[0]); i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum pcl_approval_state)i;
            return PCL_OK;
        }
    }
    return PCL_ERR_INVAL;
}

int
pcl_approval_open(const char *dir, unsigned busy_ms,
                  struct pcl_approval **out, char *why, size_t whylen)
{
    struct pcl_approval *s = NULL;
    mode_t old_umask;
    int rc;

    *out = NULL;
    pcl_err_why(why, whylen, "no error");
    old_umask = umask(STORE_UMASK);
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        pcl_err_why(why, whylen, "out of memory");
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", dir,
                         PCL_APPROVAL_DB_NAME) >= sizeof(s->path)) {
        pcl_err_why(why, whylen, "%s: path too long", dir);
        rc = PCL_ERR_IO;
        goto out;
    }
    /* Durable: a decision acknowledged to an approver must survive a
     * power loss. */
    rc = pcl_sqldb_open(s->path, busy_ms, true, &s->db, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = pcl_sqldb_schema(s->db, s->path, SCHEMA_SQL,
                          PCL_APPROVAL_SCHEMA_VERSION, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = s; /* transfer ownership */
    s = NULL;
out:
    pcl_approval_close(s);
    (void)umask(old_umask);
    return rc;
}

void
pcl_approval_close(struct pcl_approval *s)
{
    if (s == NULL) {
        return;
    }
    (void)sqlite3_close(s->db);
    free(s);
}

void
pcl_approval_request_clear(struct pcl_approval_request *r)
{
    free(r->user);
    free(r->target);
    free(r->account);
    free(r->command);
    free(r->reason);
    free(r->approvers);
    free(r->decided_by);
    free(r->comment);
    memset(r, 0, sizeof(*r));
}

/* Logs SQLite's error for what; returns PCL_ERR_IO. */
static int
db_error(struct pcl_approval *s, const char *what)
{
    error("approval store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return PCL_ERR_IO;
}

static int
prepare(struct pcl_approval *s, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        return db_error(s, "cannot prepare a statement");
    }
    return PCL_OK;
}

/* Binds text, or NULL for NULL. The strings outlive the step. */
static int
bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    if (v == NULL) {
        return sqlite3_bind_null(st, idx);
    }
    return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

static char *
column_dup(sqlite3_stmt *st, int col, bool *nomem)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    char *d;

    if (v == NULL) {
        return NULL;
    }
    d = strdup((const char *)v);
    if (d == NULL) {
        *nomem = true;
    }
    return d;
}

/* Fills *r from a row of REQUEST_COLUMNS. */
static int
row_read(sqlite3_stmt *st, struct pcl_approval_request *r)
{
    bool nomem = false;
    const unsigned char *id = sqlite3_column_text(st, 0);

    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id != NULL ? (const char *)id : "");
    if (state_from_name((const char *)sqlite3_column_text(st, 1),
                        &r->state) != PCL_OK) {
        error("approval store: request %s has an unknown state", r->id);
        return PCL_ERR_IO;
    }
    r->user = column_dup(st, 2, &nomem);
    r->target = column_dup(st, 3, &nomem);
    r->account = column_dup(st, 4, &nomem);
    r->command = column_dup(st, 5, &nomem);
    r->reason = column_dup(st, 6, &nomem);
    r->decided_by = column_dup(st, 7, &nomem);
    r->comment = column_dup(st, 8, &nomem);
    r->required = (unsigned)sqlite3_column_int(st, 9);
    r->grant_ttl = (unsigned)sqlite3_column_int(st, 10);
    r->created = sqlite3_column_int64(st, 11);
    r->expires = sqlite3_column_int64(st, 12);
    r->grant_until = sqlite3_column_int64(st, 13);
    r->approvers = column_dup(st, 14, &nomem);
    if (r->approvers == NULL && !nomem) {
        r->approvers = strdup("");
        nomem = r->approvers == NULL;
    }
    r->approvals = (unsigned)sqlite3_column_int(st, 15);
    if (nomem || r->user == NULL || r->target == NULL ||
        r->account == NULL || r->reason == NULL) {
        pcl_approval_request_clear(r);
        return nomem ? PCL_ERR_NOMEM : PCL_ERR_IO;
    }
    return PCL_OK;
}

/* A fresh id: PCL_APPROVAL_ID_LEN characters of a 32-letter alphabet
 * (40 bits), from getrandom(2). */
static int
new_id(char *id)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
    unsigned char rnd[PCL_APPROVAL_ID_LEN];
    size_t i;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        return PCL_ERR_CRYPTO;
    }
    for (i = 0; i < PCL_APPROVAL_ID_LEN; i++) {
        id[i] = alphabet[rnd[i] & 31];
    }
    id[PCL_APPROVAL_ID_LEN] = '\0';
    return PCL_OK;
}

static bool
field_ok(const char *v, bool optional)
{
    if (v == NULL) {
        return optional;
    }
    return strlen(v) <= FIELD_MAX;
}

int
pcl_approval_create(struct pcl_approval *s, const struct pcl_approval_new *r,
                    char *id)
{
    sqlite3_stmt *st = NULL;
    int tries;
    int rc = PCL_ERR_IO;

    id[0] = '\0';
    if (!field_ok(r->user, false) || !field_ok(r->target, false) ||
        !field_ok(r->account, false) || !field_ok(r->reason, false) ||
        !field_ok(r->command, true) || !field_ok(r->session_id, true) ||
        r->required < 1 || r->required > 16 || r->grant_ttl == 0 ||
        r->timeout == 0) {
        return PCL_ERR_INVAL;
    }
    rc = prepare(s, "INSERT INTO requests (id, state, user, target, account,"
                 " command, reason, session_id, required, grant_ttl,"
                 " created, expires, updated)"
                 " VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                 " ?10, ?11, ?10);", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    /* One statement is its own transaction; a clash of ids (one in 2^40
     * per pair) is retried with a new one. */
    for (tries = 0; tries < 4; tries++) {
        int step;

        rc = new_id(id);
        if (rc != PCL_OK) {
            goto out;
        }
        if (bind_text(st, 1, id) != SQLITE_OK ||
            bind_text(st, 2, r->user) != SQLITE_OK ||
            bind_text(st, 3, r->target) != SQLITE_OK ||
            bind_text(st, 4, r->account) != SQLITE_OK ||
            bind_text(st, 5, r->command) != SQLITE_OK ||
            bind_text(st, 6, r->reason) != SQLITE_OK ||
            bind_text(st, 7, r->session_id) != SQLITE_OK ||
            sqlite3_bind_int(st, 8, (int)r->required) != SQLITE_OK ||
            sqlite3_bind_int64(st, 9, r->grant_ttl) != SQLITE_OK ||
            sqlite3_bind_int64(st, 10, r->now) != SQLITE_OK ||
            sqlite3_bind_int64(st, 11, r->now + (int64_t)r->timeout) !=
                SQLITE_OK) {
            rc = db_error(s, "cannot bind the request");
            goto out;
        }
        step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = PCL_OK;
            goto out;
        }
        if ((sqlite3_extended_errcode(s->db) & 0xff) != SQLITE_CONSTRAINT) {
            rc = db_error(s, "cannot store the request");
            goto out;
        }
        sqlite3_reset(st);
    }
    rc = db_error(s, "no free request id");
out:
    if (rc != PCL_OK) {
        id[0] = '\0';
    }
    sqlite3_finalize(st);
    return rc;
}

int
pcl_approval_get(struct pcl_approval *s, const char *id,
                 struct pcl_approval_request *out)
{
    sqlite3_stmt *st = NULL;
    int step;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = prepare(s, "SELECT " REQUEST_COLUMNS " FROM requests r"
                 " WHERE r.id = ?1;", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (bind_text(st, 1, id) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
        goto out;
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = row_read(st, out);
    } else if (step == SQLITE_DONE) {
        rc = PCL_ERR_NOTFOUND;
    } else {
        rc = db_error(s, "cannot read a request");
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int
pcl_approval_list(struct pcl_approval *s, enum pcl_approval_state state,
                  int64_t now,
                  int (*fn)(const struct pcl_approval_request *r, void *ctx),
                  void *ctx)
{
    sqlite3_stmt *st = NULL;
    struct pcl_approval_request r;
    int step;
    int rc;

    rc = prepare(s, "SELECT " REQUEST_COLUMNS " FROM requests r"
                 " WHERE r.state = ?1 AND (?1 != 'approved'"
                 " OR r.grant_until > ?2) ORDER BY r.created, r.id;", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (bind_text(st, 1, pcl_approval_state_name(state)) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, now) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
        goto out;
    }
    for (;;) {
        step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = PCL_OK;
            break;
        }
        if (step != SQLITE_ROW) {
            rc = db_error(s, "cannot list requests");
            break;
        }
        rc = row_read(st, &r);
        if (rc != PCL_OK) {
            break;
        }
        rc = fn(&r, ctx);
        pcl_approval_request_clear(&r);
        if (rc != 0) {
            break;
        }
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* Runs one statement with integer/text parameters already bound; returns
 * the number of rows changed, or -1. */
static int
step_changes(struct pcl_approval *s, sqlite3_stmt *st, const char *what)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        (void)db_error(s, what);
        return -1;
    }
    return sqlite3_changes(s->db);
}

/* The shortest grant the approvals of id allow, in seconds: the request's
 * grant_ttl, or less where an approver said --for. */
static int
grant_length(struct pcl_approval *s, const char *id, unsigned ttl,
             unsigned *out)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *out = ttl;
    rc = prepare(s, "SELECT min(for_seconds) FROM decisions WHERE"
                 " request_id = ?1 AND verdict = 'approve'"
                 " AND for_seconds IS NOT NULL;", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (bind_text(st, 1, id) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = db_error(s, "cannot read the grant length");
    } else if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        if (v > 0 && v < (sqlite3_int64)ttl) {
            *out = (unsigned)v;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* The body of pcl_approval_decide, inside its transaction. */
static int
decide_locked(struct pcl_approval *s, const char *id, const char *approver,
              bool approve, unsigned for_seconds, const char *comment,
              int64_t now, enum pcl_approval_outcome *outcome, char *why,
              size_t whylen)
{
    struct pcl_approval_request r;
    sqlite3_stmt *st = NULL;
    unsigned len = 0;
    int rc;

    rc = pcl_approval_get(s, id, &r);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "no request %s", id);
        return rc;
    }
    if (r.state != PCL_APPROVAL_PENDING || r.expires <= now) {
        pcl_err_why(why, whylen, "request %s is %s", id,
                    r.state == PCL_APPROVAL_PENDING
                        ? "expired"
                        : pcl_approval_state_name(r.state));
        rc = PCL_ERR_DENIED;
        goto out;
    }
    if (strcmp(r.user, approver) == 0) {
        pcl_err_why(why, whylen, "nobody decides their own request");
        rc = PCL_ERR_PERM;
        goto out;
    }
    rc = prepare(s, "INSERT INTO decisions (request_id, approver, verdict,"
                 " for_seconds, comment, time) VALUES (?1, ?2, ?3, ?4, ?5,"
                 " ?6);", &st);
    if (rc != PCL_OK) {
        goto out;
    }
    if (bind_text(st, 1, id) != SQLITE_OK ||
        bind_text(st, 2, approver) != SQLITE_OK ||
        bind_text(st, 3, approve ? "approve" : "deny") != SQLITE_OK ||
        (for_seconds > 0 ? sqlite3_bind_int64(st, 4, for_seconds)
                         : sqlite3_bind_null(st, 4)) != SQLITE_OK ||
        bind_text(st, 5, comment) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, now) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        if ((sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT) {
            pcl_err_why(why, whylen, "%s has decided request %s already",
                        approver, id);
            rc = PCL_ERR_INVAL;
        } else {
            rc = db_error(s, "cannot store the decision");
        }
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (!approve) {
        rc = prepare(s, "UPDATE requests SET state = 'denied',"
                     " decided_by = ?2, comment = ?3, updated = ?4"
                     " WHERE id = ?1;", &st);
        *outcome = PCL_APPROVAL_REFUSED;
    } else if (r.approvals + 1 >= r.required) {
        rc = grant_length(s, id, r.grant_ttl, &len);
        if (rc == PCL_OK) {
            rc = prepare(s, "UPDATE requests SET state = 'approved',"
                         " comment = ?3, updated = ?4,"
                         " grant_until = ?4 + ?5 WHERE id = ?1;", &st);
        }
        *outcome = PCL_APPROVAL_GRANTED;
    } else {
        len = 0;
        rc = prepare(s, "UPDATE requests SET comment = ?3, updated = ?4"
                     " WHERE id = ?1;", &st);
        *outcome = PCL_APPROVAL_RECORDED;
    }
    if (rc != PCL_OK) {
        goto out;
    }
    if (bind_text(st, 1, id) != SQLITE_OK ||
        (!approve && bind_text(st, 2, approver) != SQLITE_OK) ||
        bind_text(st, 3, comment) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, now) != SQLITE_OK ||
        (*outcome == PCL_APPROVAL_GRANTED &&
         sqlite3_bind_int64(st, 5, len) != SQLITE_OK) ||
        step_changes(s, st, "cannot update the request") != 1) {
        rc = PCL_ERR_IO;
        goto out;
    }
    rc = PCL_OK;
out:
    sqlite3_finalize(st);
    pcl_approval_request_clear(&r);
    return rc;
}

/* BEGIN IMMEDIATE; finish() commits, or rolls back on error: writers
 * queue on the lock for busy_ms, and what they read is what they change. */
static int
begin(struct pcl_approval *s)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        return db_error(s, "cannot lock the store");
    }
    return PCL_OK;
}

static int
finish(struct pcl_approval *s, int rc)
{
    if (rc == PCL_OK) {
        if (sqlite3_exec(s->db, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK) {
            return PCL_OK;
        }
        rc = db_error(s, "cannot commit");
    }
    (void)sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
    return rc;
}

int
pcl_approval_decide(struct pcl_approval *s, const char *id,
                    const char *approver, bool approve, unsigned for_seconds,
                    const char *comment, int64_t now,
                    enum pcl_approval_outcome *outcome, char *why,
                    size_t whylen)
{
    int rc;

    pcl_err_why(why, whylen, "no error");
    if (!field_ok(comment, true) || !field_ok(approver, false)) {
        pcl_err_why(why, whylen, "comment too long");
        return PCL_ERR_INVAL;
    }
    rc = begin(s);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "the approval store is busy");
        return rc;
    }
    rc = decide_locked(s, id, approver, approve, for_seconds, comment, now,
                       outcome, why, whylen);
    return finish(s, rc);
}

int
pcl_approval_find_grant(struct pcl_approval *s, const char *user,
                        const char *target, const char *account,
                        const char *command, int64_t now, char *id,
                        int64_t *until)
{
    sqlite3_stmt *st = NULL;
    int step;
    int rc;

    id[0] = '\0';
    *until = 0;
    rc = prepare(s, "SELECT id, grant_until FROM requests WHERE user = ?1"
                 " AND target = ?2 AND account = ?3 AND state = 'approved'"
                 " AND grant_until > ?5 AND (command IS NULL OR"
                 " (?4 IS NOT NULL AND command = ?4))"
                 " ORDER BY grant_until DESC, id LIMIT 1;", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (bind_text(st, 1, user) != SQLITE_OK ||
        bind_text(st, 2, target) != SQLITE_OK ||
        bind_text(st, 3, account) != SQLITE_OK ||
        bind_text(st, 4, command) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, now) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
        goto out;
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        snprintf(id, PCL_APPROVAL_ID_LEN + 1, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        *until = sqlite3_column_int64(st, 1);
        rc = PCL_OK;
    } else if (step == SQLITE_DONE) {
        rc = PCL_ERR_NOTFOUND;
    } else {
        rc = db_error(s, "cannot look for a grant");
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* Moves request id from one state to another in one statement (so it is
 * atomic without a transaction); sql binds ?1 id, ?2 by, ?3 comment, ?4
 * now. Returns 0,
 * PCL_ERR_NOTFOUND or PCL_ERR_DENIED (the row is not in that state). */
static int
transition(struct pcl_approval *s, const char *id, const char *sql,
           const char *by, const char *comment, int64_t now)
{
    struct pcl_approval_request r;
    sqlite3_stmt *st = NULL;
    int n;
    int rc;

    rc = prepare(s, sql, &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (bind_text(st, 1, id) != SQLITE_OK ||
        bind_text(st, 2, by) != SQLITE_OK ||
        bind_text(st, 3, comment) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, now) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
        goto out;
    }
    n = step_changes(s, st, "cannot update the request");
    if (n < 0) {
        rc = PCL_ERR_IO;
    } else if (n == 0) {
        rc = pcl_approval_get(s, id, &r);
        pcl_approval_request_clear(&r);
        rc = rc == PCL_OK ? PCL_ERR_DENIED : rc;
    } else {
        rc = PCL_OK;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int
pcl_approval_revoke(struct pcl_approval *s, const char *id, const char *by,
                    const char *comment, int64_t now)
{
    if (!field_ok(comment, true)) {
        return PCL_ERR_INVAL;
    }
    return transition(s, id, "UPDATE requests SET state = 'revoked',"
                      " decided_by = ?2, comment = ?3, updated = ?4,"
                      " grant_until = ?4 WHERE id = ?1"
                      " AND state = 'approved' AND grant_until > ?4;",
                      by, comment, now);
}

int
pcl_approval_cancel(struct pcl_approval *s, const char *id,
                    const char *user, int64_t now)
{
    return transition(s, id, "UPDATE requests SET state = 'cancelled',"
                      " updated = ?4 WHERE id = ?1 AND user = ?2"
                      " AND state = 'pending' AND ?3 IS NULL;",
                      user, NULL, now);
}

int
pcl_approval_expire(struct pcl_approval *s, int64_t now, unsigned *n)
{
    sqlite3_stmt *st = NULL;
    int changed;
    int rc;

    if (n != NULL) {
        *n = 0;
    }
    rc = prepare(s, "UPDATE requests SET state = 'expired', updated = ?1"
                 " WHERE state = 'pending' AND expires <= ?1;", &st);
    if (rc != PCL_OK) {
        return rc;
    }
    if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK) {
        rc = db_error(s, "cannot bind");
    } else {
        changed = step_changes(s, st, "cannot expire requests");
        if (changed < 0) {
            rc = PCL_ERR_IO;
        } else if (n != NULL) {
            *n = (unsigned)changed;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

char *
pcl_approval_escape(char *dst, size_t dstlen, const char *src)
{
    size_t n = 0;
    size_t i;

    if (dstlen == 0) {
        return dst;
    }
    for (i = 0; src != NULL && src[i] != '\0'; i++) {
        unsigned char c = (unsigned char)src[i];
        char enc[8];
        size_t l;

        if (c == '\\') {
            snprintf(enc, sizeof(enc), "\\\\");
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(enc, sizeof(enc), "\\x%02x", c);
        } else {
            enc[0] = (char)c;
            enc[1] = '\0';
        }
        l = strlen(enc);
        if (n + l + 1 > dstlen) {
            /* Cut: end with "..." where it fits. */
            n = dstlen > 4 ? (n < dstlen - 4 ? n : dstlen - 4) : 0;
            if (dstlen > 4) {
                memcpy(dst + n, "...", 3);
                n += 3;
            }
            break;
        }
        memcpy(dst + n, enc, l);
        n += l;
    }
    dst[n] = '\0';
    return dst;
}

void
pcl_approval_time(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
