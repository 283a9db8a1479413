/* SPDX-License-Identifier: BSD-2-Clause */
/* INI parsing through inih with exact file:line diagnostics, and the list of
 * errors that config and policy checks collect. */
#ifndef PCL_INI_H
#define PCL_INI_H

#include <stdbool.h>
#include <stddef.h>

struct pcl_diag;

/*
 * Allocates an empty diagnostics list. Returns 0 or PCL_ERR_NOMEM; on
 * success the caller owns *out (pcl_diag_free).
 */
int pcl_diag_new(struct pcl_diag **out);
void pcl_diag_free(struct pcl_diag *d);

/* Appends "file:line: message" (line 0 omits it). Out of memory is counted
 * as an error too, so a check can never pass by losing a message. */
void pcl_diag_add(struct pcl_diag *d, const char *file, int line,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Number of errors recorded. */
size_t pcl_diag_count(const struct pcl_diag *d);

/* The i-th error, formatted "file:line: message"; borrowed. */
const char *pcl_diag_get(const struct pcl_diag *d, size_t i);

/*
 * Called for each "key = value" (section may be "" before the first
 * [section]) and once per section header with key == NULL. line is the
 * 1-based line of the entry. Return false after adding a diagnostic to
 * reject it; parsing goes on so every error is reported.
 */
typedef bool (*pcl_ini_handler)(void *ctx, const char *file, int line,
                                const char *section, const char *key,
                                const char *value);

/*
 * Parses the INI file at path (already opened and checked by the caller as
 * fp). Lines longer than the parser's limit are reported, not truncated.
 * Returns 0 when no error was added, PCL_ERR_CONFIG otherwise.
 */
int pcl_ini_parse(const char *path, void *fp, pcl_ini_handler handler,
                  void *ctx, struct pcl_diag *diag);

#endif /* PCL_INI_H */
