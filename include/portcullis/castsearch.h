/* SPDX-License-Identifier: BSD-2-Clause */
/* Searching what a recording showed: the screen is rendered (libvterm)
 * and its changed rows are matched with PCRE2, so colour codes, cursor
 * moves and redraws do not hide or split a word. */
#ifndef PCL_CASTSEARCH_H
#define PCL_CASTSEARCH_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each hit: a screen row (0-based) whose text matches and that
 * was not already on screen matching before this event. text (UTF-8, len
 * bytes, not terminated) is the whole row, from the recording: escape it
 * before showing it. A non-zero return stops the search. */
typedef int (*pcl_castsearch_fn)(uint64_t t_us, int row, const char *text,
                                 size_t len, void *ctx);

/*
 * Plays the recording at path into a screen model and reports, through
 * fn, each time a row matching re appears. *bytes (may be NULL) gets the
 * recorded output bytes rendered. Returns 0, fn's non-zero return, or a
 * reader error (PCL_ERR_*) with why (whylen bytes) filled.
 */
int pcl_castsearch_run(const char *path, const pcre2_code *re,
                       pcl_castsearch_fn fn, void *ctx, uint64_t *bytes,
                       char *why, size_t whylen);

#endif /* PCL_CASTSEARCH_H */
