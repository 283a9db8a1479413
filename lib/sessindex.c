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

static const char META_SQL[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    " key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);";

static const char INSERT_SQL[] =
    "INSERT INTO sessions (session_id, user, subject, source, target,"
    " account, command, rule, approval_id, bastion, recording, start)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12);";

static const char UPDATE_SQL[] =
    "UPDATE sessions SET \"end\" = ?2, bytes_in = ?3, bytes_out = ?4,"
    " bytes_err = ?5, exit_status = ?6, exit_signal = ?7, seal = ?8"
    " WHERE session_id = ?1;";

#define SCHEMA_VERSION_KEY "schema_version"

/* The mode of a database we create, and the umask that keeps it: every
 * user's proxy writes it through the group. */
#define INDEX_MODE 0660
#define INDEX_UMASK 007

struct pcl_sessindex {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *update;
};

/* Fills why with SQLite's error on db, and errno when the failure was the
 * system's (an errno of any other error may be stale). */
static void
db_why(sqlite3 *db, const char *path, const char *what, char *why,
       size_t whylen)
{
    int code = sqlite3_errcode(db) & 0xff;
    int sys = sqlite3_system_errno(db);

    if ((code == SQLITE_CANTOPEN || code == SQLITE_IOERR) && sys != 0) {
        pcl_err_why(why, whylen, "%s: %s: %s (%s)", path, what,
                sqlite3_errmsg(db), strerror(sys));
    } else {
        pcl_err_why(why, whylen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
    }
}

/*
 * Creates path mode 0660 when missing, and checks what is there before
 * SQLite opens it. SQLite would create it 0644 less the umask (0640 here),
 * closing it to the other users' proxies; it gives -wal and -shm the
 * database's own mode, so this one file decides all three. Our descriptor
 * is closed before SQLite opens the file: closing one later would drop
 * SQLite's POSIX locks on it.
 */
static int
check_file(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int fd;
    int rc = PCL_ERR_IO;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
                        O_NOCTTY, INDEX_MODE);
    if (fd < 0 && errno == EEXIST) {
        /* O_NONBLOCK: a FIFO planted there must not hang the session. */
        fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                            O_NONBLOCK);
    }
    if (fd < 0) {
        if (errno == ELOOP) {
            pcl_err_why(why, whylen, "%s: is a symbolic link", path);
        } else {
            pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        }
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        pcl_err_why(why, whylen, "%s: not a regular file", path);
        goto out;
    }
    /* It holds what users ran, commands with their arguments: others may
     * neither change nor read it. */
    if ((st.st_mode & S_IRWXO) != 0) {
        pcl_err_why(why, whylen, "%s: open to others (mode %04o); the session "
                "index must be 0660", path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    rc = PCL_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

/* Runs constant SQL (no parameters, nothing read back). */
static int
exec_sql(sqlite3 *db, const char *sql, const char *path, const char *what,
         char *why, size_t whylen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_why(db, path, what, why, whylen);
        return PCL_ERR_IO;
    }
    return PCL_OK;
}

/*
 * Switches to WAL: readers (portcullis-replay) never block the proxies,
 * and proxies wait for each other only for the length of one commit. The
 * pragma answers with the mode in force; a file system where WAL cannot
 * work (no shared memory: NFS) answers otherwise, and is refused.
 */
static int
set_wal(sqlite3 *db, const char *path, char *why, size_t whylen)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int rc = PCL_ERR_IO;

    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL;", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        db_why(db, path, "cannot enable WAL", why, whylen);
        goto out;
    }
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcasecmp((const char *)mode, "wal") != 0) {
        pcl_err_why(why, whylen, "%s: journal mode is %.20s, not WAL (a file "
                "system without shared memory?)", path,
                mode == NULL ? "unknown" : (const char *)mode);
        goto out;
    }
    rc = PCL_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Creates the tables and indexes when missing and checks schema_version,
 * in one IMMEDIATE transaction so that proxies racing to create a new
 * index see either none of it or all of it.
 */
static int
setup_schema(sqlite3 *db, const char *path, char *why, size_t whylen)
{
    sqlite3_stmt *st = NULL;
    bool in_txn = false;
    sqlite3_int64 version = 0;
    int step;
    int rc;

    rc = exec_sql(db, "BEGIN IMMEDIATE;", path, "cannot lock", why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    in_txn = true;
    rc = exec_sql(db, META_SQL, path, "cannot create the meta table", why,
                  whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1;", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, SCHEMA_VERSION_KEY, -1,
                          SQLITE_STATIC) != SQLITE_OK) {
        db_why(db, path, "cannot read schema_version", why, whylen);
        goto out;
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
            pcl_err_why(why, whylen, "%s: schema_version is not an integer",
                    path);
            goto out;
        }
        version = sqlite3_column_int64(st, 0);
        if (version > PCL_SESSINDEX_SCHEMA_VERSION) {
            pcl_err_why(why, whylen, "%s: schema_version %lld is newer than "
                    "this portcullis knows (%d); upgrade portcullis", path,
                    (long long)version, PCL_SESSINDEX_SCHEMA_VERSION);
            goto out;
        }
        if (version < 1) {
            pcl_err_why(why, whylen, "%s: invalid schema_version %lld", path,
                    (long long)version);
            goto out;
        }
    } else if (step != SQLITE_DONE) {
        db_why(db, path, "cannot read schema_version", why, whylen);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;

    rc = exec_sql(db, SCHEMA_SQL, path, "cannot create the sessions table",
                  why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    if (version == 0) {
        rc = PCL_ERR_IO;
        if (sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) "
                               "VALUES (?1, ?2);", -1, &st,
                               NULL) != SQLITE_OK ||
            sqlite3_bind_text(st, 1, SCHEMA_VERSION_KEY, -1,
                              SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int(st, 2, PCL_SESSINDEX_SCHEMA_VERSION) !=
                SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE) {
            db_why(db, path, "cannot write schema_version", why, whylen);
            goto out;
        }
    }
    rc = exec_sql(db, "COMMIT;", path, "cannot commit the schema", why,
                  whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    in_txn = false;
out:
    sqlite3_finalize(st);
    if (in_txn) {
        (void)sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
    }
    return rc;
}

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
    rc = check_file(path, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    /* NOFOLLOW: refuse a symlink swapped in since check_file. NOMUTEX: one
     * thread per handle. */
    if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (x->db == NULL) {
            pcl_err_why(why, whylen, "out of memory");
            rc = PCL_ERR_NOMEM;
        } else {
            db_why(x->db, path, "cannot open", why, whylen);
        }
        goto out;
    }
    /* SQLite falls back to read-only when it may not write. */
    if (sqlite3_db_readonly(x->db, "main") != 0) {
        pcl_err_why(why, whylen, "%s: not writable", path);
        goto out;
    }
    (void)sqlite3_busy_timeout(x->db, busy_ms > INT_MAX ? INT_MAX
                                                        : (int)busy_ms);
    /* The file is shared by every proxy: SQL hidden in its schema (views,
     * triggers) may not call functions with side effects, nor may this
     * connection corrupt it through writable_schema and friends. */
    if (sqlite3_db_config(x->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
                          NULL) != SQLITE_OK ||
        sqlite3_db_config(x->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
                          NULL) != SQLITE_OK) {
        db_why(x->db, path, "cannot harden the connection", why, whylen);
        goto out;
    }
    rc = set_wal(x->db, path, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    /*
     * NORMAL, not FULL: in WAL mode a commit then survives any crash of a
     * process and never corrupts the file; only a power loss or kernel
     * crash may drop the last commits. That is what the index can afford
     * (the recordings hold the truth; an index can be rebuilt from them),
     * and it spares every session start and end an fsync.
     * temp_store MEMORY: no temporary files in a TMPDIR the user chose.
     */
    rc = exec_sql(x->db, "PRAGMA synchronous=NORMAL; "
                  "PRAGMA temp_store=MEMORY;", path,
                  "cannot set synchronous", why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = setup_schema(x->db, path, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    if (sqlite3_prepare_v3(x->db, INSERT_SQL, -1, SQLITE_PREPARE_PERSISTENT,
                           &x->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(x->db, UPDATE_SQL, -1, SQLITE_PREPARE_PERSISTENT,
                           &x->update, NULL) != SQLITE_OK) {
        db_why(x->db, path, "cannot prepare statements", why, whylen);
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
