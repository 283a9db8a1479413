/* SPDX-License-Identifier: BSD-2-Clause */
/* Value parsers shared by portcullis.conf and policy.conf. */
#ifndef PCL_PARSE_H
#define PCL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Parses a duration "N", "Ns", "Nm" or "Nh" into seconds (at most one
 * day). Returns 0 or PCL_ERR_INVAL. */
int pcl_parse_seconds(const char *s, unsigned *out);

/* Parses a duration "N" or "Nms" (milliseconds) or "Ns" into milliseconds
 * (at most one hour). Returns 0 or PCL_ERR_INVAL. */
int pcl_parse_millis(const char *s, unsigned *out);

/* Parses a decimal integer 0..max. Returns 0 or PCL_ERR_INVAL. */
int pcl_parse_uint(const char *s, unsigned max, unsigned *out);

/* Parses yes/no (also true/false, on/off, 1/0). Returns 0 or
 * PCL_ERR_INVAL. */
int pcl_parse_bool(const char *s, bool *out);

/*
 * Splits a comma list into trimmed items: calls fn(item, ctx) for each
 * (item is a NUL-terminated copy, borrowed for the call). Empty items are
 * passed as "". Returns 0, the first non-zero return of fn, or
 * PCL_ERR_NOMEM.
 */
int pcl_parse_list(const char *s, int (*fn)(const char *item, void *ctx),
                   void *ctx);

/*
 * Returns a copy of v that is valid UTF-8 (RFC 3629): every byte that is
 * not part of a valid sequence becomes U+FFFD. The caller frees it; NULL
 * when out of memory. For JSON, which must be UTF-8 (RFC 8259 8.1).
 */
char *pcl_utf8_clean(const char *v);

/* Length in bytes of the valid UTF-8 sequence at s (RFC 3629: no
 * overlongs, no surrogates, at most U+10FFFF; s is NUL-terminated, which
 * ends any sequence), or 0 when the bytes there are not one. */
size_t pcl_utf8_len(const unsigned char *s);

#endif /* PCL_PARSE_H */
