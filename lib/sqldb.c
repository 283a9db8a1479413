/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/sqldb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portcullis/err.h"

/* The mode of a database we create: every user's proxy writes it through
 * the group. */
#define DB_MODE 0660

#define SCHEMA_VERSION_KEY "schema_version"

/* Fills why with SQLite's error on db, and errno when the failure was the
 * system's (an errno of any other error may be stale). */
void
pcl_sqldb_why(sqlite3 *db, const char *path, const char *what, char *why,
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
                        O_NOCTTY, DB_MODE);
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
        pcl_err_why(why, whylen, "%s: open to others (mode %04o); it "
                "must be 0660", path, (unsigned)(st.st_mode & 07777));
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
int
pcl_sqldb_exec(sqlite3 *db, const char *sql, const char *path, const char *what,
         char *why, size_t whylen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        pcl_sqldb_why(db, path, what, why, whylen);
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
        pcl_sqldb_why(db, path, "cannot enable WAL", why, whylen);
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
 * In one IMMEDIATE transaction, so that proxies racing to create a new
 * database see either none of it or all of it.
 */
int
pcl_sqldb_schema(sqlite3 *db, const char *path, const char *schema_sql,
                 int version_now, char *why, size_t whylen)
{
    sqlite3_stmt *st = NULL;
    bool in_txn = false;
    sqlite3_int64 version = 0;
    int step;
    int rc;

    rc = pcl_sqldb_exec(db, "BEGIN IMMEDIATE;", path, "cannot lock", why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    in_txn = true;
    rc = pcl_sqldb_exec(db, "CREATE TABLE IF NOT EXISTS meta ("
                        " key TEXT PRIMARY KEY NOT NULL,"
                        " value INTEGER NOT NULL);", path, "cannot create the meta table", why,
                  whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1;", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, SCHEMA_VERSION_KEY, -1,
                          SQLITE_STATIC) != SQLITE_OK) {
        pcl_sqldb_why(db, path, "cannot read schema_version", why, whylen);
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
        if (version > version_now) {
            pcl_err_why(why, whylen, "%s: schema_version %lld is newer than "
                    "this portcullis knows (%d); upgrade portcullis", path,
                    (long long)version, version_now);
            goto out;
        }
        if (version < 1) {
            pcl_err_why(why, whylen, "%s: invalid schema_version %lld", path,
                    (long long)version);
            goto out;
        }
    } else if (step != SQLITE_DONE) {
        pcl_sqldb_why(db, path, "cannot read schema_version", why, whylen);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;

    rc = pcl_sqldb_exec(db, schema_sql, path, "cannot create the tables",
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
            sqlite3_bind_int(st, 2, version_now) !=
                SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE) {
            pcl_sqldb_why(db, path, "cannot write schema_version", why, whylen);
            goto out;
        }
    }
    rc = pcl_sqldb_exec(db, "COMMIT;", path, "cannot commit the schema", why,
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
pcl_sqldb_open(const char *path, unsigned busy_ms, bool durable,
               sqlite3 **out, char *why, size_t whylen)
{
    sqlite3 *db = NULL;
    int tries;
    int rc;

    *out = NULL;
    rc = check_file(path, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = PCL_ERR_IO;
    /* NOFOLLOW: refuse a symlink swapped in since check_file. NOMUTEX: one
     * thread per handle. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (db == NULL) {
            pcl_err_why(why, whylen, "out of memory");
            rc = PCL_ERR_NOMEM;
        } else {
            pcl_sqldb_why(db, path, "cannot open", why, whylen);
        }
        goto out;
    }
    /* SQLite falls back to read-only when it may not write. */
    if (sqlite3_db_readonly(db, "main") != 0) {
        pcl_err_why(why, whylen, "%s: not writable", path);
        goto out;
    }
    (void)sqlite3_busy_timeout(db, busy_ms > INT_MAX ? INT_MAX
                                                        : (int)busy_ms);
    /* The file is shared by every proxy: SQL hidden in its schema (views,
     * triggers) may not call functions with side effects, nor may this
     * connection corrupt it through writable_schema and friends. */
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1,
                          NULL) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
                          NULL) != SQLITE_OK) {
        pcl_sqldb_why(db, path, "cannot harden the connection", why, whylen);
        goto out;
    }
    /* Two processes switching a new database to WAL at once can see the
     * other's rollback journal vanish (SQLITE_IOERR, ENOENT), or be told
     * SQLITE_BUSY at once, without the busy handler (SQLite's way out of
     * a deadlock between two lock upgrades): the switch is idempotent, so
     * it is tried again, for at most about a second. */
    for (tries = 0; tries < 50; tries++) {
        int ec;
        rc = set_wal(db, path, why, whylen);
        ec = sqlite3_errcode(db) & 0xff;
        if (rc == PCL_OK || (ec != SQLITE_IOERR && ec != SQLITE_BUSY)) {
            break;
        }
        (void)usleep(20000);
    }
    if (rc != PCL_OK) {
        goto out;
    }
    /*
     * NORMAL, not FULL, unless durable: in WAL mode a commit then survives
     * any crash of a process and never corrupts the file; only a power
     * loss or kernel crash may drop the last commits. That is what an
     * index can afford (it can be rebuilt from the recordings), and it
     * spares every commit an fsync; a store of decisions cannot.
     * temp_store MEMORY: no temporary files in a TMPDIR the user chose.
     */
    rc = pcl_sqldb_exec(db, durable ? "PRAGMA synchronous=FULL; "
                                      "PRAGMA temp_store=MEMORY;"
                                    : "PRAGMA synchronous=NORMAL; "
                                      "PRAGMA temp_store=MEMORY;",
                        path, "cannot set synchronous", why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = db; /* transfer ownership */
    db = NULL;
out:
    if (db != NULL) {
        (void)sqlite3_close(db);
    }
    return rc;
}
