/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/sessquery.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "portcullis/err.h"
#include "portcullis/parse.h"

#define SELECT_SQL                                                           \
    "SELECT session_id, user, source, target, account, command, rule,"      \
    " bastion, recording, start, \"end\", exit_status, exit_signal, seal"   \
    " FROM sessions WHERE"                                                   \
    " (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR target = ?2)"             \
    " AND (?3 IS NULL OR instr(command, ?3) > 0)"                            \
    " AND (?4 IS NULL OR start >= ?4) AND (?5 IS NULL OR start < ?5)"        \
    " AND (?6 IS NULL OR exit_status = ?6)"                                  \
    " AND (?7 IS NULL OR substr(session_id, 1, length(?7)) = ?7)"            \
    " ORDER BY start, session_id;"

static const char *
col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int
pcl_sessquery_run(const char *path, const struct pcl_sessquery_filter *f,
                  pcl_sessquery_fn fn, void *ctx, char *why, size_t whylen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct stat sb;
    int rc = PCL_ERR_IO;
    int s;

    /* stat, not access: a set-group-id caller reads it with its effective
     * group. */
    if (stat(path, &sb) != 0) {
        pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        return PCL_ERR_NOTFOUND;
    }
    /* Read-only, no creation; WAL readers still need the -shm file, which
     * the group can write (lib/sessindex.c creates it 0660). */
    s = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY |
                        SQLITE_OPEN_NOFOLLOW, NULL);
    if (s != SQLITE_OK) {
        pcl_err_why(why, whylen, "%s: %s", path,
                    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(s));
        goto out;
    }
    /* Every user's proxy writes this file: SQL in its schema (views,
     * triggers) runs no function with side effects here, as in the
     * writers (lib/sqldb.c). */
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
            SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) !=
            SQLITE_OK) {
        pcl_err_why(why, whylen, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_busy_timeout(db, 2000);
    s = sqlite3_prepare_v2(db, SELECT_SQL, -1, &st, NULL);
    if (s != SQLITE_OK) {
        pcl_err_why(why, whylen, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    if (f->user != NULL) {
        sqlite3_bind_text(st, 1, f->user, -1, SQLITE_STATIC);
    }
    if (f->target != NULL) {
        sqlite3_bind_text(st, 2, f->target, -1, SQLITE_STATIC);
    }
    if (f->command != NULL) {
        sqlite3_bind_text(st, 3, f->command, -1, SQLITE_STATIC);
    }
    if (f->has_since) {
        sqlite3_bind_int64(st, 4, f->since);
    }
    if (f->has_until) {
        sqlite3_bind_int64(st, 5, f->until);
    }
    if (f->has_exit) {
        sqlite3_bind_int(st, 6, f->exit_status);
    }
    if (f->session_id != NULL) {
        sqlite3_bind_text(st, 7, f->session_id, -1, SQLITE_STATIC);
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct pcl_sessquery_row row;
        int r;

        memset(&row, 0, sizeof(row));
        row.session_id = col_text(st, 0);
        row.user = col_text(st, 1);
        row.source = col_text(st, 2);
        row.target = col_text(st, 3);
        row.account = col_text(st, 4);
        row.command = col_text(st, 5);
        row.rule = col_text(st, 6);
        row.bastion = col_text(st, 7);
        row.recording = col_text(st, 8);
        row.start = sqlite3_column_int64(st, 9);
        row.has_end = sqlite3_column_type(st, 10) != SQLITE_NULL;
        row.end = sqlite3_column_int64(st, 10);
        row.has_exit = sqlite3_column_type(st, 11) != SQLITE_NULL;
        row.exit_status = sqlite3_column_int(st, 11);
        row.exit_signal = col_text(st, 12);
        row.seal = col_text(st, 13);
        r = fn(&row, ctx);
        if (r != 0) {
            rc = r;
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        pcl_err_why(why, whylen, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    rc = PCL_OK;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

char *
pcl_sessquery_escape(const char *src, char *dst, size_t cap)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;

    if (cap == 0) {
        return dst;
    }
    if (src == NULL) {
        s = (const unsigned char *)"-";
    }
    while (*s != '\0') {
        size_t n = pcl_utf8_len(s);
        char tmp[16];
        size_t k;

        if (n == 0 || s[0] < 0x20 || s[0] == 0x7f ||
            (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)) {
            /* control, C1 control (both bytes shown) or invalid byte */
            size_t m = n == 2 ? 2 : 1;
            size_t i;
            k = 0;
            for (i = 0; i < m; i++) {
                k += (size_t)snprintf(tmp + k, sizeof(tmp) - k, "\\x%02x",
                                      s[i]);
            }
            if (o + k >= cap) {
                break;
            }
            memcpy(dst + o, tmp, k);
            n = m;
        } else if (s[0] == '\\') {
            k = 2;
            if (o + k >= cap) {
                break;
            }
            memcpy(dst + o, "\\\\", 2);
        } else {
            k = n;
            if (o + k >= cap) {
                break;
            }
            memcpy(dst + o, s, n);
        }
        o += k;
        s += n;
    }
    dst[o] = '\0';
    return dst;
}

void
pcl_sessquery_print_heading(FILE *fp)
{
    fprintf(fp, "%-32s  %-20s  %-8s %-12s %-12s %-5s %s\n", "SESSION",
            "START (UTC)", "STATE", "USER", "TARGET", "EXIT", "COMMAND");
}

void
pcl_sessquery_print_row(FILE *fp, const struct pcl_sessquery_row *r)
{
    char when[32];
    char id[40];
    char user[64];
    char target[64];
    char cmd[256];
    char exitb[24];
    struct tm tm;
    time_t t = (time_t)r->start;

    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (r->has_exit) {
        snprintf(exitb, sizeof(exitb), "%d", r->exit_status);
    } else if (r->exit_signal != NULL) {
        char sig[20];
        snprintf(exitb, sizeof(exitb), "SIG%s",
                 pcl_sessquery_escape(r->exit_signal, sig, sizeof(sig)));
    } else {
        snprintf(exitb, sizeof(exitb), "%s", r->has_end ? "-" : "live");
    }
    fprintf(fp, "%-32s  %s  %-8s %-12s %-12s %-5s %s\n",
            pcl_sessquery_escape(r->session_id, id, sizeof(id)), when,
            r->has_end ? "ended" : "running",
            pcl_sessquery_escape(r->user, user, sizeof(user)),
            pcl_sessquery_escape(r->target, target, sizeof(target)), exitb,
            r->command != NULL
                ? pcl_sessquery_escape(r->command, cmd, sizeof(cmd))
                : "(shell)");
}
