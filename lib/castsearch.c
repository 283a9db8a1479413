/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/castsearch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/castread.h"
#include "portcullis/err.h"
#include "portcullis/screen.h"

/* FNV-1a, 64 bits; never 0 (0 marks a row that does not match). */
static uint64_t
row_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h | 1;
}

static bool
on_screen(const uint64_t *hashes, int rows, uint64_t h)
{
    int y;

    for (y = 0; y < rows; y++) {
        if (hashes[y] == h) {
            return true;
        }
    }
    return false;
}

struct moved {
    uint64_t *prev;
    int rows;
};

/* A scroll moved rows: their hashes move with them. */
static void
on_move(int dest, int src, int n, void *ctx)
{
    struct moved *m = ctx;

    if (m->prev == NULL || dest < 0 || src < 0 || n <= 0 ||
        dest + n > m->rows || src + n > m->rows) {
        return;
    }
    memmove(m->prev + dest, m->prev + src, (size_t)n * sizeof(*m->prev));
}

int
pcl_castsearch_run(const char *path, const pcre2_code *re,
                   pcl_castsearch_fn fn, void *ctx, uint64_t *bytes,
                   char *why, size_t whylen)
{
    struct pcl_castread *r = NULL;
    struct pcl_screen *s = NULL;
    struct pcl_castread_event ev;
    pcre2_match_data *md = NULL;
    uint64_t *prev = NULL;     /* hash of each matching row, or 0 */
    uint64_t *next = NULL;
    char *row = NULL;
    size_t rowcap = 0;
    uint64_t total = 0;
    struct moved mv = { NULL, 0 };
    int cols;
    int rows;
    int rc;

    rc = pcl_castread_open(path, &r, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    {
        const struct pcl_castread_header *h = pcl_castread_header(r);
        rc = pcl_screen_new(h->cols, h->rows, &s);
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (rc != PCL_OK || md == NULL) {
        rc = rc != PCL_OK ? rc : PCL_ERR_NOMEM;
        goto out;
    }
    rows = 0;
    cols = 0;
    pcl_screen_on_move(s, on_move, &mv);
    while ((rc = pcl_castread_next(r, &ev, why, whylen)) == 1) {
        int c;
        int w;
        int first;
        int last;
        int y;

        (void)pcl_screen_event(s, ev.code, ev.data, ev.len);
        if (ev.code != 'o') {
            continue;
        }
        total += ev.len;
        pcl_screen_size(s, &c, &w);
        if (c != cols || w != rows) {
            /* A new size: start over with nothing known on screen. */
            uint64_t *np = calloc((size_t)w, sizeof(*np));
            uint64_t *nn = calloc((size_t)w, sizeof(*nn));
            char *nr = malloc((size_t)c * 24 + 1);
            if (np == NULL || nn == NULL || nr == NULL) {
                free(np);
                free(nn);
                free(nr);
                rc = PCL_ERR_NOMEM;
                goto out;
            }
            free(prev);
            free(next);
            free(row);
            prev = np;
            next = nn;
            row = nr;
            rowcap = (size_t)c * 24 + 1;
            cols = c;
            rows = w;
            mv.prev = prev;
            mv.rows = rows;
        }
        if (!pcl_screen_take_dirty(s, &first, &last)) {
            continue;
        }
        memcpy(next, prev, (size_t)rows * sizeof(*next));
        for (y = first; y <= last && y < rows; y++) {
            size_t n = pcl_screen_row_text(s, y, row, rowcap);
            int m = pcre2_match(re, (PCRE2_SPTR)row, n, 0, 0, md, NULL);
            uint64_t h;

            next[y] = 0;
            if (m < 0) {
                continue;
            }
            /* Rows are told apart by what matched, not the whole row: a
             * line being typed after the match, a scrolled or redrawn
             * row show the same match and are not new. */
            {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                size_t a = ov[0] <= n ? ov[0] : n;
                size_t b = ov[1] <= n && ov[1] >= a ? ov[1] : a;
                h = row_hash(row + a, b - a);
            }
            next[y] = h;
            if (!on_screen(prev, rows, h)) {
                int stop = fn(ev.t_us, y, row, n, ctx);
                if (stop != 0) {
                    rc = stop;
                    goto out;
                }
            }
        }
        memcpy(prev, next, (size_t)rows * sizeof(*prev));
    }
    if (rc == 0) {
        rc = PCL_OK;
    }
out:
    if (bytes != NULL) {
        *bytes = total;
    }
    free(prev);
    free(next);
    free(row);
    pcre2_match_data_free(md);
    pcl_screen_free(s);
    pcl_castread_free(r);
    return rc;
}
