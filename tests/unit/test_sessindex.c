/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the session index: schema, rows read back through SQLite
 * itself, hostile strings, NULLs, modes of the files, refused databases,
 * lock timeouts and ten processes writing at once. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "portcullis/err.h"
#include "portcullis/sessindex.h"
#include "testutil.h"

#define NCHILDREN 10
#define NPAIRS 50

struct fixture {
    char dir[64];
    char path[256];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || tu_mkdtemp(f->dir, sizeof(f->dir)) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
    *state = f;
    return 0;
}

/* Removes the scratch dir, and the one subdirectory level tests make. */
static int
teardown(void **state)
{
    struct fixture *f = *state;
    char sub[96];

    snprintf(sub, sizeof(sub), "%s/ro", f->dir);
    tu_rmtree(sub);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* A plain SQLite connection, to read back what the module wrote. */
static sqlite3 *
raw_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    return db;
}

/* The one integer that sql (with ?1 bound to arg, when not NULL) yields. */
static int64_t
raw_int(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (arg != NULL) {
        assert_int_equal(sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC),
                         SQLITE_OK);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    return v;
}

static void
expect_text(sqlite3_stmt *st, int col, const char *want)
{
    if (want == NULL) {
        assert_int_equal(sqlite3_column_type(st, col), SQLITE_NULL);
        return;
    }
    assert_int_equal(sqlite3_column_type(st, col), SQLITE_TEXT);
    assert_int_equal(sqlite3_column_bytes(st, col), strlen(want));
    assert_memory_equal(sqlite3_column_text(st, col), want, strlen(want));
}

static void
expect_int(sqlite3_stmt *st, int col, bool null, int64_t want)
{
    if (null) {
        assert_int_equal(sqlite3_column_type(st, col), SQLITE_NULL);
        return;
    }
    assert_int_equal(sqlite3_column_type(st, col), SQLITE_INTEGER);
    assert_true(sqlite3_column_int64(st, col) == want);
}

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- schema */

static void
test_create_reopen(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    const struct pcl_sessindex_start s = {
        .session_id = "s1", .user = "alice", .start = 100,
    };
    const struct pcl_sessindex_end e = {
        .end = 160, .exit_status = 0, .seal = "sealed",
    };
    char why[256];
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int i;

    /* Created, closed and opened again (three times, schema idempotent);
     * a row begun in one handle is ended in the next. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why,
                                            sizeof(why)), PCL_OK);
        assert_non_null(x);
        if (i == 0) {
            assert_int_equal(pcl_sessindex_begin(x, &s), PCL_OK);
        } else if (i == 1) {
            assert_int_equal(pcl_sessindex_end(x, "s1", &e), PCL_OK);
        }
        pcl_sessindex_close(x);
        x = NULL;
    }
    pcl_sessindex_close(NULL);

    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM meta", NULL), 1);
    assert_int_equal(raw_int(db, "SELECT value FROM meta WHERE key = ?1",
                             "schema_version"),
                     PCL_SESSINDEX_SCHEMA_VERSION);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE "
                             "type = 'index' AND name IN ('sessions_start', "
                             "'sessions_user_start', "
                             "'sessions_target_start')", NULL), 3);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions WHERE "
                             "\"end\" = 160 AND start = 100", NULL), 1);
    /* WAL is a property of the file: a fresh connection sees it. */
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---------------------------------------------------------------- rows */

struct row_case {
    struct pcl_sessindex_start s;
    struct pcl_sessindex_end e;
    /* What the end columns must read back as. */
    bool status_null;
    int64_t bytes_in;
    int64_t bytes_out;
    int64_t bytes_err;
    const char *signal;
};

static const struct row_case rows[] = {
    {
        .s = { "full-1", "alice", "sub-123", "192.0.2.1 port 50000",
               "db1.example.com", "postgres", "psql -c 'select 1'",
               "dba-prod", "APR-42", "bastion1",
               "/var/log/portcullis/rec/full-1.cast", 1700000000 },
        .e = { 1700000100, 10, 20000, 30, 0, NULL, "sealed" },
        .status_null = false, .bytes_in = 10, .bytes_out = 20000,
        .bytes_err = 30, .signal = NULL,
    },
    {
        /* Unknown: every optional field NULL, no exit status, "" signal,
         * no seal. */
        .s = { "nulls-2", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, 0 },
        .e = { 1, 0, 0, 0, -1, "", NULL },
        .status_null = true, .bytes_in = 0, .bytes_out = 0, .bytes_err = 0,
        .signal = NULL,
    },
    {
        /* Hostile text is data, never SQL: quotes, semicolons, comments,
         * escapes, controls and bytes that are not UTF-8 come back
         * byte for byte. */
        .s = { "hostile-3'; DROP TABLE sessions; --",
               "o'brien\"", "\x1b]0;title\x07", "::1 port 22",
               "h\x1b[31m\t\r\n\x7f", "root'--",
               "echo 'a' \"b\"; rm -rf / ; -- ' OR 1=1; \\\x01\x02\x1f",
               "r;1", "\xff\xfe\xc0\xaf", "caf\xc3\xa9",
               "/rec/with space/%s%n.cast", -5 },
        .e = { INT64_MAX, UINT64_MAX, (uint64_t)INT64_MAX + 1, 7, -5,
               "KILL", "unsealed" },
        .status_null = true, .bytes_in = INT64_MAX, .bytes_out = INT64_MAX,
        .bytes_err = 7, .signal = "KILL",
    },
    {
        .s = { "killed-4", "bob", NULL, "10.0.0.1 port 1", "web1", "www",
               NULL, "web", NULL, "bastion2", "/rec/killed-4.cast", 5 },
        .e = { 6, 1, 2, 3, 255, "TERM", "error" },
        .status_null = false, .bytes_in = 1, .bytes_out = 2, .bytes_err = 3,
        .signal = "TERM",
    },
};

static void
test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    const size_t n = sizeof(rows) / sizeof(rows[0]);
    char why[256];
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    size_t i;

    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    for (i = 0; i < n; i++) {
        assert_int_equal(pcl_sessindex_begin(x, &rows[i].s), PCL_OK);
    }

    /* Begun, not ended: the end columns are NULL. */
    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions WHERE "
                             "\"end\" IS NULL AND bytes_in IS NULL AND "
                             "bytes_out IS NULL AND bytes_err IS NULL AND "
                             "exit_status IS NULL AND exit_signal IS NULL "
                             "AND seal IS NULL", NULL), (int64_t)n);

    for (i = 0; i < n; i++) {
        assert_int_equal(pcl_sessindex_end(x, rows[i].s.session_id,
                                           &rows[i].e), PCL_OK);
    }
    pcl_sessindex_close(x);

    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions", NULL),
                     (int64_t)n);
    assert_int_equal(sqlite3_prepare_v2(db,
        "SELECT session_id, user, subject, source, target, account, "
        "command, rule, approval_id, bastion, recording, start, \"end\", "
        "bytes_in, bytes_out, bytes_err, exit_status, exit_signal, seal "
        "FROM sessions WHERE session_id = ?1", -1, &st, NULL), SQLITE_OK);
    for (i = 0; i < n; i++) {
        const struct row_case *c = &rows[i];

        assert_int_equal(sqlite3_bind_text(st, 1, c->s.session_id, -1,
                                           SQLITE_STATIC), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        expect_text(st, 0, c->s.session_id);
        expect_text(st, 1, c->s.user);
        expect_text(st, 2, c->s.subject);
        expect_text(st, 3, c->s.source);
        expect_text(st, 4, c->s.target);
        expect_text(st, 5, c->s.account);
        expect_text(st, 6, c->s.command);
        expect_text(st, 7, c->s.rule);
        expect_text(st, 8, c->s.approval_id);
        expect_text(st, 9, c->s.bastion);
        expect_text(st, 10, c->s.recording);
        expect_int(st, 11, false, c->s.start);
        expect_int(st, 12, false, c->e.end);
        expect_int(st, 13, false, c->bytes_in);
        expect_int(st, 14, false, c->bytes_out);
        expect_int(st, 15, false, c->bytes_err);
        expect_int(st, 16, c->status_null, c->e.exit_status);
        expect_text(st, 17, c->signal);
        expect_text(st, 18, c->e.seal);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    /* The hostile id dropped nothing. */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE "
                             "name = 'sessions'", NULL), 1);
    sqlite3_close(db);
}

static void
test_unknown_and_duplicate(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    const struct pcl_sessindex_start s = { .session_id = "s1", .start = 1 };
    const struct pcl_sessindex_end e1 = { .end = 2, .exit_status = 1 };
    const struct pcl_sessindex_end e2 = { .end = 3, .exit_status = 2 };
    char why[256];
    sqlite3 *db;

    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    /* Nothing to end: not found, and nothing inserted. */
    assert_int_equal(pcl_sessindex_end(x, "never-begun", &e1),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_OK);
    /* A second start of one id is refused; the first row stays. */
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_ERR_IO);
    assert_int_equal(pcl_sessindex_end(x, "S1", &e1), PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_sessindex_end(x, "s1", &e1), PCL_OK);
    /* Ending twice: the last end wins. */
    assert_int_equal(pcl_sessindex_end(x, "s1", &e2), PCL_OK);
    /* The handle still works after the failures. */
    assert_int_equal(pcl_sessindex_end(x, "never-begun", &e1),
                     PCL_ERR_NOTFOUND);
    pcl_sessindex_close(x);

    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions", NULL), 1);
    assert_int_equal(raw_int(db, "SELECT exit_status FROM sessions WHERE "
                             "session_id = ?1 AND \"end\" = 3", "s1"), 2);
    sqlite3_close(db);
}

/* ---------------------------------------------------------------- files */

static mode_t
mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void
test_modes(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    const struct pcl_sessindex_start s = { .session_id = "m1", .start = 1 };
    const char *const suffixes[] = { "", "-wal", "-shm" };
    char why[256];
    char p[300];
    mode_t saved;
    size_t i;

    /* The proxy's umask: the files must still be open to the group. */
    saved = umask(027);
    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(umask(027), 027);
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_OK);
    assert_int_equal(umask(027), 027);
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        assert_int_equal(mode_of(p), 0660);
    }
    pcl_sessindex_close(x);

    /* Reopened with umask 027 after the last close removed -wal and -shm:
     * created again 0660. */
    assert_int_equal(access(f->path, F_OK), 0);
    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
        assert_int_equal(mode_of(p), 0660);
    }
    pcl_sessindex_close(x);
    assert_int_equal(umask(saved), 027);
}

/* What make install may leave: an empty file, root:portcullis 0660. It is
 * a valid empty database; the schema goes in and the mode stays. */
static void
test_installed_empty(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    const struct pcl_sessindex_start s = { .session_id = "i1", .start = 1 };
    char why[256];
    char p[300];

    assert_int_equal(tu_write(f->dir, "index.db", "", 0660, p, sizeof(p)),
                     0);
    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_OK);
    pcl_sessindex_close(x);
    assert_int_equal(mode_of(f->path), 0660);
}

enum refuse_setup {
    MISSING_DIR,
    SYMLINK,
    DIRECTORY,
    FIFO,
    MODE,
    GARBAGE,
};

struct refuse_case {
    const char *name;
    enum refuse_setup setup;
    mode_t mode;           /* of the file made, for MODE and GARBAGE */
    const char *why;       /* a part of the reason given */
};

static const struct refuse_case refusals[] = {
    { "missing directory", MISSING_DIR, 0, "No such file or directory" },
    { "symlink", SYMLINK, 0660, "symbolic link" },
    { "directory", DIRECTORY, 0, "Is a directory" },
    { "fifo", FIFO, 0660, "not a regular file" },
    { "writable by others", MODE, 0666, "open to others (mode 0666)" },
    { "writable by others only", MODE, 0602, "open to others (mode 0602)" },
    { "readable by others", MODE, 0664, "open to others (mode 0664)" },
    { "not a database", GARBAGE, 0660, "not a database" },
};

/* Makes what c names at f->path; returns the path to open. */
static const char *
make_refused(struct fixture *f, const struct refuse_case *c, char *p,
             size_t plen)
{
    char real[300];
    char junk[2048];

    snprintf(p, plen, "%s", f->path);
    switch (c->setup) {
    case MISSING_DIR:
        snprintf(p, plen, "%s/missing/index.db", f->dir);
        break;
    case SYMLINK:
        assert_int_equal(tu_write(f->dir, "real.db", "", c->mode, real,
                                  sizeof(real)), 0);
        assert_int_equal(symlink(real, p), 0);
        break;
    case DIRECTORY:
        assert_int_equal(mkdir(p, 0770), 0);
        break;
    case FIFO:
        assert_int_equal(mkfifo(p, c->mode), 0);
        break;
    case MODE:
        assert_int_equal(tu_write(f->dir, "index.db", "", c->mode, p, plen),
                         0);
        break;
    case GARBAGE:
        memset(junk, 'x', sizeof(junk) - 1);
        junk[sizeof(junk) - 1] = '\0';
        assert_int_equal(tu_write(f->dir, "index.db", junk, c->mode, p,
                                  plen), 0);
        break;
    }
    return p;
}

static void
test_refused(void **state)
{
    struct fixture *f = *state;
    static char sentinel;
    size_t i;

    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const struct refuse_case *c = &refusals[i];
        /* Not NULL before: the failed open must clear it. */
        struct pcl_sessindex *x = (struct pcl_sessindex *)(void *)&sentinel;
        char why[512] = "";
        char p[300];
        mode_t saved;

        make_refused(f, c, p, sizeof(p));
        saved = umask(027);
        assert_int_equal(pcl_sessindex_open(p, 100, &x, why, sizeof(why)),
                         PCL_ERR_IO);
        assert_int_equal(umask(saved), 027);
        assert_null(x);
        if (strstr(why, c->why) == NULL || strstr(why, p) == NULL) {
            fail_msg("%s: why is \"%s\", wanted \"%s\"", c->name, why,
                     c->why);
        }
        /* Nothing made beside what was there. */
        tu_rmtree(f->dir);
        assert_int_equal(mkdir(f->dir, 0755), 0);
    }
}

/*
 * Runs pcl_sessindex_open(path) as a user that may not write there: the
 * test itself when not root, else a child that became nobody. Returns the
 * child's verdict: 0 when the open failed with PCL_ERR_IO and a why that
 * holds want, 77 when no unprivileged user could be had.
 */
static int
open_unprivileged(const char *path, const char *want)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pcl_sessindex *x = NULL;
        char why[512] = "";
        int rc;

        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
             setuid(65534) != 0)) {
            _exit(77);
        }
        rc = pcl_sessindex_open(path, 100, &x, why, sizeof(why));
        if (rc != PCL_ERR_IO || x != NULL || strstr(why, want) == NULL) {
            fprintf(stderr, "open %s: rc %d, why \"%s\", wanted \"%s\"\n",
                    path, rc, why, want);
            pcl_sessindex_close(x);
            _exit(1);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void
test_unwritable(void **state)
{
    struct fixture *f = *state;
    char ro[96];
    char p[300];
    char db[300];
    int rc;

    /* A directory that user may not write: the database cannot be made. */
    snprintf(ro, sizeof(ro), "%s/ro", f->dir);
    assert_int_equal(mkdir(ro, 0555), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    snprintf(p, sizeof(p), "%s/index.db", ro);
    rc = open_unprivileged(p, "Permission denied");
    if (rc == 77) {
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(access(p, F_OK), -1);

    /* A database that user may not write (0440, another's): refused, not
     * opened read-only. */
    assert_int_equal(tu_write(f->dir, "ro.db", "", 0440, db, sizeof(db)), 0);
    assert_int_equal(open_unprivileged(db, "Permission denied"), 0);
}

static void
test_newer_schema(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *value;  /* bound as text: column affinity makes
                             * numbers integers */
        int rc;
        const char *why;
    } cases[] = {
        { "2", PCL_ERR_IO, "schema_version 2 is newer" },
        { "99", PCL_ERR_IO, "schema_version 99 is newer" },
        { "x", PCL_ERR_IO, "not an integer" },
        { "0", PCL_ERR_IO, "invalid schema_version 0" },
        { "1", PCL_OK, "no error" },
    };
    struct pcl_sessindex *x = NULL;
    char why[512];
    size_t i;

    assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why, sizeof(why)),
                     PCL_OK);
    pcl_sessindex_close(x);
    x = NULL;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sqlite3 *db = raw_open(f->path);
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 "
                                            "WHERE key = 'schema_version'",
                                            -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_bind_text(st, 1, cases[i].value, -1,
                                           SQLITE_STATIC), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        assert_int_equal(sqlite3_changes(db), 1);
        sqlite3_finalize(st);
        sqlite3_close(db);

        assert_int_equal(pcl_sessindex_open(f->path, 1000, &x, why,
                                            sizeof(why)), cases[i].rc);
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("schema_version %s: why is \"%s\"", cases[i].value,
                     why);
        }
        if (cases[i].rc == PCL_OK) {
            assert_non_null(x);
        } else {
            assert_null(x);
        }
        pcl_sessindex_close(x);
        x = NULL;
    }
}

/* ---------------------------------------------------------------- locks */

static void
test_busy(void **state)
{
    struct fixture *f = *state;
    struct pcl_sessindex *x = NULL;
    struct pcl_sessindex *y = NULL;
    const struct pcl_sessindex_start s = { .session_id = "b1", .start = 1 };
    const struct pcl_sessindex_end e = { .end = 2, .exit_status = 0 };
    char why[512];
    sqlite3 *db;
    double t0;
    double dt;

    assert_int_equal(pcl_sessindex_open(f->path, 200, &x, why, sizeof(why)),
                     PCL_OK);
    db = raw_open(f->path);

    /* A reader never blocks a writer (WAL). */
    assert_int_equal(sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sessions;",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_OK);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);

    /* Another writer holding the lock past busy_ms: PCL_ERR_IO, after
     * waiting about busy_ms. */
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    t0 = now_ms();
    assert_int_equal(pcl_sessindex_end(x, "b1", &e), PCL_ERR_IO);
    dt = now_ms() - t0;
    assert_true(dt >= 150.0);
    assert_int_equal(pcl_sessindex_begin(x, &s), PCL_ERR_IO);
    assert_int_equal(pcl_sessindex_open(f->path, 100, &y, why, sizeof(why)),
                     PCL_ERR_IO);
    assert_null(y);
    assert_non_null(strstr(why, "locked"));
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);

    /* The lock gone, the same handle writes again. */
    assert_int_equal(pcl_sessindex_end(x, "b1", &e), PCL_OK);
    pcl_sessindex_close(x);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions WHERE "
                             "\"end\" = 2", NULL), 1);
    sqlite3_close(db);
}

/* One child: opens its own handle and writes NPAIRS sessions. Returns the
 * exit status: 0, or which step failed. */
static int
child_writes(const char *path, int child)
{
    struct pcl_sessindex *x = NULL;
    char why[512];
    char id[32];
    int i;

    if (pcl_sessindex_open(path, 30000, &x, why, sizeof(why)) != PCL_OK) {
        fprintf(stderr, "child %d: %s\n", child, why);
        return 1;
    }
    for (i = 0; i < NPAIRS; i++) {
        int64_t start = (int64_t)child * 1000 + i;
        struct pcl_sessindex_start s = {
            .session_id = id, .user = "u", .target = "t", .start = start,
        };
        struct pcl_sessindex_end e = {
            .end = start + 7, .bytes_in = (uint64_t)start * 3,
            .bytes_out = (uint64_t)child, .bytes_err = (uint64_t)i,
            .exit_status = i, .seal = "sealed",
        };

        snprintf(id, sizeof(id), "c%d-%d", child, i);
        if (pcl_sessindex_begin(x, &s) != PCL_OK) {
            pcl_sessindex_close(x);
            return 2;
        }
        if (pcl_sessindex_end(x, id, &e) != PCL_OK) {
            pcl_sessindex_close(x);
            return 3;
        }
    }
    pcl_sessindex_close(x);
    return 0;
}

static void
test_concurrent(void **state)
{
    struct fixture *f = *state;
    pid_t pids[NCHILDREN];
    sqlite3 *db;
    int pass;
    int i;

    /* Pass 0: the children race to create the index. Pass 1: they write
     * to the one pass 0 left. */
    for (pass = 0; pass < 2; pass++) {
        fflush(NULL);
        for (i = 0; i < NCHILDREN; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                _exit(child_writes(f->path, pass * NCHILDREN + i));
            }
        }
        for (i = 0; i < NCHILDREN; i++) {
            int status;

            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }

    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions", NULL),
                     2 * NCHILDREN * NPAIRS);
    /* Every end applied, each to its own row. */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sessions WHERE "
                             "\"end\" = start + 7 AND bytes_in = start * 3 "
                             "AND bytes_out = start / 1000 AND "
                             "bytes_err = start % 1000 AND "
                             "exit_status = start % 1000 AND "
                             "seal = 'sealed' AND session_id = 'c' || "
                             "(start / 1000) || '-' || (start % 1000)",
                             NULL), 2 * NCHILDREN * NPAIRS);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM meta", NULL), 1);
    sqlite3_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_duplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_installed_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
