/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the approval store: the life of a request (approve, deny,
 * quorum, shortened grants, revoke, cancel, expiry), self-approval refused,
 * command scopes, and ten requesters and two approvers in separate
 * processes at once with nothing lost or doubled. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "portcullis/approval.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "testutil.h"

#define T0 1700000000
#define NREQUESTERS 10
#define NAPPROVERS 2
#define PER_REQUESTER 20

struct fixture {
    char dir[64];
    struct pcl_approval *s;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char why[512];

    if (f == NULL || tu_mkdtemp(f->dir, sizeof(f->dir)) != 0 ||
        pcl_approval_open(f->dir, 5000, &f->s, why, sizeof(why)) !=
            PCL_OK) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    pcl_approval_close(f->s);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void
make(struct pcl_approval *s, const char *user, const char *command,
     unsigned required, char *id)
{
    struct pcl_approval_new n = {
        .user = user, .target = "db01", .account = "postgres",
        .command = command, .reason = "disk full\x1b[2J",
        .session_id = "0123", .required = required, .grant_ttl = 3600,
        .timeout = 900, .now = T0,
    };

    assert_int_equal(pcl_approval_create(s, &n, id), PCL_OK);
    assert_int_equal(strlen(id), PCL_APPROVAL_ID_LEN);
}

static void
test_approve_and_grant(void **state)
{
    struct fixture *f = *state;
    struct pcl_approval_request r;
    enum pcl_approval_outcome o;
    char id[16], gid[16];
    char why[256];
    int64_t until;

    make(f->s, "alice", NULL, 1, id);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 1, gid,
                                             &until), PCL_ERR_NOTFOUND);
    /* Nobody approves their own request. */
    assert_int_equal(pcl_approval_decide(f->s, id, "alice", true, 0, NULL,
                                         T0 + 1, &o, why, sizeof(why)),
                     PCL_ERR_PERM);
    assert_int_equal(pcl_approval_decide(f->s, id, "bob", true, 600, "ok",
                                         T0 + 10, &o, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(o, PCL_APPROVAL_GRANTED);
    assert_int_equal(pcl_approval_get(f->s, id, &r), PCL_OK);
    assert_int_equal(r.state, PCL_APPROVAL_APPROVED);
    assert_int_equal(r.grant_until, T0 + 10 + 600); /* --for shortened */
    assert_string_equal(r.approvers, "bob");
    assert_string_equal(r.reason, "disk full\x1b[2J"); /* byte for byte */
    pcl_approval_request_clear(&r);
    /* The grant covers a shell and any command, until it ends. */
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 20, gid,
                                             &until), PCL_OK);
    assert_string_equal(gid, id);
    assert_int_equal(until, T0 + 610);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", "rm -rf /",
                                             T0 + 20, gid, &until), PCL_OK);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01", "root",
                                             NULL, T0 + 20, gid, &until),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_approval_find_grant(f->s, "carol", "db01",
                                             "postgres", NULL, T0 + 20, gid,
                                             &until), PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 610, gid,
                                             &until), PCL_ERR_NOTFOUND);
    /* Decided requests take no more decisions. */
    assert_int_equal(pcl_approval_decide(f->s, id, "carol", false, 0, NULL,
                                         T0 + 30, &o, why, sizeof(why)),
                     PCL_ERR_DENIED);
}

static void
test_quorum_deny_revoke(void **state)
{
    struct fixture *f = *state;
    struct pcl_approval_request r;
    enum pcl_approval_outcome o;
    char id[16], id2[16], gid[16];
    char why[256];
    int64_t until;

    make(f->s, "alice", NULL, 2, id);
    assert_int_equal(pcl_approval_decide(f->s, id, "bob", true, 0, NULL,
                                         T0 + 1, &o, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(o, PCL_APPROVAL_RECORDED);
    /* The same approver counts once. */
    assert_int_equal(pcl_approval_decide(f->s, id, "bob", true, 0, NULL,
                                         T0 + 2, &o, why, sizeof(why)),
                     PCL_ERR_INVAL);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 2, gid,
                                             &until), PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_approval_decide(f->s, id, "carol", true, 0, NULL,
                                         T0 + 3, &o, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(o, PCL_APPROVAL_GRANTED);
    assert_int_equal(pcl_approval_get(f->s, id, &r), PCL_OK);
    assert_string_equal(r.approvers, "bob,carol");
    assert_int_equal(r.approvals, 2);
    assert_int_equal(r.grant_until, T0 + 3 + 3600);
    pcl_approval_request_clear(&r);

    assert_int_equal(pcl_approval_revoke(f->s, id, "carol", "done", T0 + 5),
                     PCL_OK);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 6, gid,
                                             &until), PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_approval_revoke(f->s, id, "carol", NULL, T0 + 7),
                     PCL_ERR_DENIED);
    assert_int_equal(pcl_approval_revoke(f->s, "nosuchid", "carol", NULL,
                                         T0 + 7), PCL_ERR_NOTFOUND);

    make(f->s, "alice", NULL, 2, id2);
    assert_int_equal(pcl_approval_decide(f->s, id2, "bob", false, 0, "no",
                                         T0 + 1, &o, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(o, PCL_APPROVAL_REFUSED);
    assert_int_equal(pcl_approval_get(f->s, id2, &r), PCL_OK);
    assert_int_equal(r.state, PCL_APPROVAL_DENIED);
    assert_string_equal(r.decided_by, "bob");
    assert_string_equal(r.comment, "no");
    pcl_approval_request_clear(&r);
}

static void
test_command_scope_cancel_expire(void **state)
{
    struct fixture *f = *state;
    struct pcl_approval_request r;
    enum pcl_approval_outcome o;
    char id[16], id2[16], id3[16], gid[16];
    char why[256];
    int64_t until;
    unsigned n;

    make(f->s, "alice", "systemctl restart pg", 1, id);
    assert_int_equal(pcl_approval_decide(f->s, id, "bob", true, 0, NULL,
                                         T0 + 1, &o, why, sizeof(why)),
                     PCL_OK);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres",
                                             "systemctl restart pg", T0 + 2,
                                             gid, &until), PCL_OK);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", "systemctl stop pg",
                                             T0 + 2, gid, &until),
                     PCL_ERR_NOTFOUND);
    assert_int_equal(pcl_approval_find_grant(f->s, "alice", "db01",
                                             "postgres", NULL, T0 + 2, gid,
                                             &until), PCL_ERR_NOTFOUND);

    make(f->s, "alice", NULL, 1, id2);
    assert_int_equal(pcl_approval_cancel(f->s, id2, "bob", T0 + 1),
                     PCL_ERR_DENIED); /* not bob's */
    assert_int_equal(pcl_approval_cancel(f->s, id2, "alice", T0 + 1),
                     PCL_OK);
    assert_int_equal(pcl_approval_decide(f->s, id2, "bob", true, 0, NULL,
                                         T0 + 2, &o, why, sizeof(why)),
                     PCL_ERR_DENIED);

    make(f->s, "alice", NULL, 1, id3);
    assert_int_equal(pcl_approval_decide(f->s, id3, "bob", true, 0, NULL,
                                         T0 + 900, &o, why, sizeof(why)),
                     PCL_ERR_DENIED); /* waited too long */
    assert_int_equal(pcl_approval_expire(f->s, T0 + 900, &n), PCL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pcl_approval_get(f->s, id3, &r), PCL_OK);
    assert_int_equal(r.state, PCL_APPROVAL_EXPIRED);
    pcl_approval_request_clear(&r);
}

static int
count_cb(const struct pcl_approval_request *r, void *ctx)
{
    (void)r;
    (*(unsigned *)ctx)++;
    return 0;
}

/* An approver process: until deadline, approves every pending request it
 * sees, racing the other approver for each. Exits 0 unless the store
 * failed (a lost lock would show as PCL_ERR_IO). */
static int
approver_child(const char *dir, const char *name, int64_t deadline)
{
    struct pcl_approval *s = NULL;
    char why[256];
    int fails = 0;

    if (pcl_approval_open(dir, 10000, &s, why, sizeof(why)) != PCL_OK) {
        return 2;
    }
    while ((int64_t)time(NULL) < deadline) {
        char ids[64][16];
        size_t n = 0;
        size_t i;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, PCL_APPROVAL_DB_NAME);
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
                SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT id FROM requests WHERE state ="
                               " 'pending' LIMIT 64;", -1, &st,
                               NULL) == SQLITE_OK) {
            while (n < 64 && sqlite3_step(st) == SQLITE_ROW) {
                snprintf(ids[n++], 16, "%s", sqlite3_column_text(st, 0));
            }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        for (i = 0; i < n; i++) {
            enum pcl_approval_outcome o;
            int rc = pcl_approval_decide(s, ids[i], name, true, 0, NULL,
                                         T0 + 1, &o, why, sizeof(why));
            if (rc == PCL_ERR_IO) {
                fails++;
            }
        }
        if (n == 0) {
            usleep(10000);
        }
    }
    pcl_approval_close(s);
    return fails == 0 ? 0 : 1;
}

static void
test_concurrent(void **state)
{
    struct fixture *f = *state;
    pid_t pids[NREQUESTERS + NAPPROVERS];
    int64_t deadline = (int64_t)time(NULL) + 4;
    unsigned pending = 0, approved = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char path[256];
    int i;
    int status;

    for (i = 0; i < NREQUESTERS + NAPPROVERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct pcl_approval *s = NULL;
            char why[256];
            char user[16];
            char id[16];
            int k;
            int bad = 0;

            if (i >= NREQUESTERS) {
                _exit(approver_child(f->dir, i == NREQUESTERS ? "ap1"
                                                              : "ap2",
                                     deadline));
            }
            snprintf(user, sizeof(user), "req%d", i);
            if (pcl_approval_open(f->dir, 10000, &s, why, sizeof(why)) !=
                PCL_OK) {
                _exit(2);
            }
            for (k = 0; k < PER_REQUESTER; k++) {
                struct pcl_approval_new n = {
                    .user = user, .target = "db01", .account = "postgres",
                    .reason = "load", .required = 2, .grant_ttl = 3600,
                    .timeout = 900, .now = T0,
                };
                bad += pcl_approval_create(s, &n, id) != PCL_OK;
            }
            pcl_approval_close(s);
            _exit(bad == 0 ? 0 : 1);
        }
    }
    for (i = 0; i < NREQUESTERS + NAPPROVERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(pcl_approval_list(f->s, PCL_APPROVAL_PENDING, T0 + 1,
                                       count_cb, &pending), PCL_OK);
    assert_int_equal(pcl_approval_list(f->s, PCL_APPROVAL_APPROVED, T0 + 1,
                                       count_cb, &approved), PCL_OK);
    /* Nothing lost: every request is there, and every one the approvers
     * saw twice is approved. */
    assert_int_equal(pending + approved, NREQUESTERS * PER_REQUESTER);
    assert_true(approved > 0);
    /* Nothing doubled: no request has more than one decision per
     * approver, and an approved one has exactly two. */
    snprintf(path, sizeof(path), "%s/%s", f->dir, PCL_APPROVAL_DB_NAME);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM requests r"
                                        " WHERE (state = 'approved') !="
                                        " ((SELECT count(*) FROM decisions d"
                                        " WHERE d.request_id = r.id) = 2);",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void
test_refused_store(void **state)
{
    struct fixture *f = *state;
    struct pcl_approval *s = NULL;
    char why[512];

    (void)f;
    assert_int_equal(pcl_approval_open("/nonexistent/dir", 100, &s, why,
                                       sizeof(why)), PCL_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(why, "/nonexistent/dir"));
}

/* The store's directory is all that keeps the user who created the store
 * file (its owner) from opening it outside the proxy: a directory others
 * may even search is refused. */
static void
test_store_directory_mode(void **state)
{
    struct fixture *f = *state;
    static const mode_t refused[] = { 02771, 02775, 02777, 0774 };
    char why[512];
    size_t i;

    assert_int_equal(chmod(f->dir, 02770), 0);
    assert_int_equal(pcl_file_check_dir(f->dir, PCL_FILE_SPOOL, why,
                                        sizeof(why)), PCL_OK);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(chmod(f->dir, refused[i]), 0);
        assert_int_equal(pcl_file_check_dir(f->dir, PCL_FILE_SPOOL, why,
                                            sizeof(why)), PCL_ERR_PERM);
        assert_non_null(strstr(why, "others"));
    }
    assert_int_equal(chmod(f->dir, 0755), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_approve_and_grant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quorum_deny_revoke, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_command_scope_cancel_expire,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_directory_mode, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
