/* SPDX-License-Identifier: BSD-2-Clause */
/* Pattern analysis for the mask filter (private to lib/mask*.c). */
#ifndef PCL_MASK_PATTERN_H
#define PCL_MASK_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest literal prefix kept per rule (bytes). */
#define PCL_MASK_PREFIX_MAX 16

/*
 * Bytes one match attempt of pattern may look at from where it starts,
 * plus one; PCL_MASK_MATCH_MAX when the pattern is unbounded or uses
 * syntax the walk does not know (always a safe answer).
 */
size_t pcl_mask_pattern_reach(const char *pattern);

/*
 * Copies into prefix (PCL_MASK_PREFIX_MAX bytes) the literal bytes every
 * match of pattern starts with; returns their count, 0 when unknown.
 * *caseless: the pattern starts with (?i); prefix is then lower case.
 */
size_t pcl_mask_pattern_prefix(const char *pattern, uint8_t *prefix,
                               bool *caseless);

/* Index of the byte of needle (n > 0 bytes) least common in terminal
 * output: the one pcl_mask_find_literal looks for first. */
size_t pcl_mask_rarest(const uint8_t *needle, size_t n);

/* memmem(hay, n, needle, nlen), looking for needle[rare] with memchr
 * first; caseless: ASCII letters in either case (needle in lower case).
 * Returns a pointer into hay or NULL. */
const uint8_t *pcl_mask_find_literal(const uint8_t *hay, size_t n,
                                     const uint8_t *needle, size_t nlen,
                                     size_t rare, bool caseless);

/* True when the n bytes at a are needle (caseless: needle is lower case
 * and ASCII letters of a match in either case). */
bool pcl_mask_literal_eq(const uint8_t *a, const uint8_t *needle, size_t n,
                         bool caseless);

#endif /* PCL_MASK_PATTERN_H */
