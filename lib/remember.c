/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Schema (version PCL_REMEMBER_SCHEMA_VERSION, PRAGMA user_version):
 *   remember(user TEXT, fp TEXT, sub TEXT, iss TEXT, groups TEXT (one per
 *            line), auth_time INTEGER, until INTEGER,
 *            PRIMARY KEY (user, fp))
 */
#include "config.h"

#include "portcullis/remember.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/file.h"

struct pcl_remember {
    sqlite3 *db;
};

int
pcl_remember_open(const char *path, struct pcl_remember **out, char *why,
                  size_t whylen)
{
    struct pcl_remember *r = NULL;
    char dir[PATH_MAX];
    struct stat st;
    char *err = NULL;
    int fd;
    int rc;

    *out = NULL;
    snprintf(dir, sizeof(dir), "%s", path);
    rc = pcl_file_check_dir(dirname(dir), PCL_FILE_DIR, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    /* Create it 0600 ourselves so that SQLite never makes it wider. */
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        return PCL_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        pcl_err_why(why, whylen, "%s: must be a regular file of ours, mode "
                    "0600", path);
        return PCL_ERR_PERM;
    }
    close(fd);
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return PCL_ERR_NOMEM;
    }
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        pcl_err_why(why, whylen, "%s: %s", path, sqlite3_errmsg(r->db));
        rc = PCL_ERR_IO;
        goto out;
    }
    (void)sqlite3_busy_timeout(r->db, 2000);
    if (sqlite3_exec(r->db,
                     "CREATE TABLE IF NOT EXISTS remember ("
                     " user TEXT NOT NULL, fp TEXT NOT NULL, sub TEXT NOT NULL,"
                     " iss TEXT NOT NULL, groups TEXT NOT NULL,"
                     " auth_time INTEGER NOT NULL, until INTEGER NOT NULL,"
                     " PRIMARY KEY (user, fp));"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, &err) != SQLITE_OK) {
        pcl_err_why(why, whylen, "%s: %s", path, err != NULL ? err : "?");
        sqlite3_free(err);
        rc = PCL_ERR_IO;
        goto out;
    }
    *out = r; /* transfer ownership */
    r = NULL;
    rc = PCL_OK;
out:
    pcl_remember_close(r);
    return rc;
}

void
pcl_remember_close(struct pcl_remember *r)
{
    if (r == NULL) {
        return;
    }
    sqlite3_close(r->db);
    free(r);
}

int
pcl_remember_put(struct pcl_remember *r, const struct pcl_ticket *t,
                 time_t until)
{
    sqlite3_stmt *st = NULL;
    char groups[PCL_TICKET_GROUPS_MAX];
    int rc = PCL_ERR_IO;

    if (t->fp[0] == '\0' || t->user[0] == '\0') {
        return PCL_ERR_INVAL;
    }
    if (pcl_ticket_join_groups(t, "\n", true, groups, sizeof(groups)) !=
        PCL_OK) {
        return PCL_ERR_TOOBIG;
    }
    if (sqlite3_prepare_v2(r->db,
                           "INSERT OR REPLACE INTO remember (user, fp, sub, "
                           "iss, groups, auth_time, until) VALUES (?, ?, ?, "
                           "?, ?, ?, ?);",
                           -1, &st, NULL) != SQLITE_OK) {
        goto out;
    }
    sqlite3_bind_text(st, 1, t->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->fp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->sub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->iss, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, groups, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, t->auth_time);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)until);
    if (sqlite3_step(st) != SQLITE_DONE) {
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(r->db, "DELETE FROM remember WHERE until <= ?;",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
        (void)sqlite3_step(st);
    }
    rc = PCL_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static void
col_copy(sqlite3_stmt *st, int col, char *dst, size_t dstlen)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    snprintf(dst, dstlen, "%s", s != NULL ? (const char *)s : "");
}

int
pcl_remember_get(struct pcl_remember *r, const char *user, const char *fp,
                 time_t now, struct pcl_ticket *t)
{
    sqlite3_stmt *st = NULL;
    char groups[PCL_TICKET_MAX_GROUPS * 66];
    char *save = NULL;
    char *g;
    int rc = PCL_ERR_IO;
    int s;

    memset(t, 0, sizeof(*t));
    if (sqlite3_prepare_v2(r->db,
                           "SELECT sub, iss, groups, auth_time FROM remember "
                           "WHERE user = ? AND fp = ? AND until > ?;",
                           -1, &st, NULL) != SQLITE_OK) {
        goto out;
    }
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fp, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
    s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        rc = PCL_ERR_NOTFOUND;
        goto out;
    }
    if (s != SQLITE_ROW) {
        goto out;
    }
    snprintf(t->user, sizeof(t->user), "%s", user);
    snprintf(t->fp, sizeof(t->fp), "%s", fp);
    col_copy(st, 0, t->sub, sizeof(t->sub));
    col_copy(st, 1, t->iss, sizeof(t->iss));
    col_copy(st, 2, groups, sizeof(groups));
    t->auth_time = sqlite3_column_int64(st, 3);
    for (g = strtok_r(groups, "\n", &save);
         g != NULL && t->ngroups < PCL_TICKET_MAX_GROUPS;
         g = strtok_r(NULL, "\n", &save)) {
        snprintf(t->groups[t->ngroups++], sizeof(t->groups[0]), "%s", g);
    }
    rc = PCL_OK;
out:
    sqlite3_finalize(st);
    return rc;
}
