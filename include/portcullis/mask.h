/* SPDX-License-Identifier: BSD-2-Clause */
/* A streaming filter that replaces secrets in session output before it is
 * recorded: PCRE2 (JIT) rules, a built-in set, and exact secrets the proxy
 * injected. A match split across reads is still found: only the bytes of a
 * possible partial match are held back, for a bounded delay. */
#ifndef PCL_MASK_H
#define PCL_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcl_mask;

/*
 * Receives filtered bytes in order. rule is NULL for plain bytes; for a
 * replacement it names the rule that matched (never the secret), and buf
 * holds the replacement text (len may be 0: an empty replacement still
 * reports its rule). buf is borrowed for the call only. Returns 0, or a
 * negative value to stop the feed (the error is passed back by
 * pcl_mask_feed/flush).
 */
typedef int (*pcl_mask_sink)(void *ctx, const uint8_t *buf, size_t len,
                             const char *rule);

/* Limits (bytes): a pattern may not match more than PCL_MASK_MATCH_MAX
 * bytes, which bounds what is held back (a longer match may be cut or
 * missed when the stream is cut inside it). */
#define PCL_MASK_MATCH_MAX 8192

/*
 * Allocates an engine with no rules (about 75 KiB; nothing more is
 * allocated while filtering). holdback_ms bounds how long bytes of a
 * possible partial match may be held (see pcl_mask_due). Returns 0 or
 * PCL_ERR_NOMEM; *out owned by the caller (pcl_mask_free), NULL on error.
 *
 * Matching: the leftmost match wins; at the same start the longest; then
 * the rule added first. After a replacement the search goes on after it.
 * The output does not depend on how the stream is cut into feeds (unless
 * the holdback expires), and a rule's lookbehinds and \b see the bytes
 * before a feed; ^ matches only at the start of the stream.
 */
int pcl_mask_new(unsigned holdback_ms, struct pcl_mask **out);

/* Wipes held bytes and exact secrets, then frees; NULL is a no-op. */
void pcl_mask_free(struct pcl_mask *m);

/*
 * Adds a rule: name (for markers: 1-64 bytes of A-Z a-z 0-9 - _ . : / @),
 * a PCRE2 pattern (UTF-8 mode off: it works on bytes) compiled with JIT
 * where available, and its replacement (literal text, copied; "" is
 * allowed). \K in the pattern starts the replaced part later ("key=\K\S+"
 * keeps "key="). Returns 0, PCL_ERR_CONFIG with why filled (bad name, a
 * pattern that does not compile, one that can match the empty string, or
 * a lookbehind longer than 256 bytes), PCL_ERR_INVAL (pattern or
 * replacement NULL) or PCL_ERR_NOMEM. why may be NULL.
 */
int pcl_mask_add_rule(struct pcl_mask *m, const char *name,
                      const char *pattern, const char *replacement, char *why,
                      size_t whylen);

/*
 * Adds the built-in rules, each replaced by "********": builtin:private-key
 * (PEM/OpenSSH/PGP blocks, also cut short), builtin:aws-access-key,
 * builtin:aws-secret-key, builtin:bearer, builtin:jwt,
 * builtin:url-password, builtin:github-token, builtin:gitlab-token,
 * builtin:slack-token, builtin:google-api-key. The URL, bearer and AWS
 * secret rules replace only the secret: "https://bob:********@host".
 * Returns 0 or PCL_ERR_NOMEM.
 */
int pcl_mask_add_builtin(struct pcl_mask *m);

/*
 * Adds an exact secret (len bytes, any values; copied into mlock'ed memory
 * kept out of core dumps, wiped by pcl_mask_free), replaced by replacement
 * and reported as rule name. Secrets shorter than 4 bytes are refused
 * (PCL_ERR_INVAL): masking them would mangle ordinary output; so are
 * secrets longer than PCL_MASK_MATCH_MAX and bad names. Returns 0,
 * PCL_ERR_INVAL, PCL_ERR_SYSTEM (memory could not be locked:
 * RLIMIT_MEMLOCK; logged) or PCL_ERR_NOMEM.
 */
int pcl_mask_add_secret(struct pcl_mask *m, const char *name,
                        const uint8_t *secret, size_t len,
                        const char *replacement);

/*
 * Filters len bytes: everything that can no longer be part of a match goes
 * to sink now; the tail that could still start a match is held. now_ms is
 * CLOCK_MONOTONIC milliseconds (any clock, the same for every call), the
 * arrival time of these bytes; feeding never releases bytes for their
 * age alone (pcl_mask_flush does). Returns 0 or the sink's negative
 * return; after a sink error every later feed and flush returns it again
 * (what was held is lost: free the engine).
 */
int pcl_mask_feed(struct pcl_mask *m, const uint8_t *buf, size_t len,
                  uint64_t now_ms, pcl_mask_sink sink, void *ctx);

/*
 * Releases held bytes whose holdback has expired at now_ms (those that
 * arrived at or before now_ms - holdback_ms; all of them when final is
 * true, at the end of the stream) to sink, matching what can be matched
 * first as if the data ended there: a held "token=abc" is masked, a held
 * half secret goes out as it is. Call it whenever pcl_mask_due returns 0.
 * Returns 0 or the sink's negative return.
 */
int pcl_mask_flush(struct pcl_mask *m, uint64_t now_ms, bool final,
                   pcl_mask_sink sink, void *ctx);

/* Milliseconds until held bytes must be released (for a poll timeout), or
 * -1 when nothing is held. */
int pcl_mask_due(const struct pcl_mask *m, uint64_t now_ms);

/* Number of replacements made so far. */
uint64_t pcl_mask_count(const struct pcl_mask *m);

/*
 * Bytes that may be fed now so that everything the engine can release
 * for them and for the bytes it holds (by feeds, flushes and the final
 * flush) fits in room bytes: replacements may make the output longer
 * than the input (at most 1 + ceil(replacement / shortest match) bytes
 * per input byte, the bound this uses). Feeding no more than this keeps
 * a consumer's buffer of room bytes from overflowing (mask-live).
 */
size_t pcl_mask_accept(const struct pcl_mask *m, size_t room);

/*
 * Input masking with sudo's semantics (passprompt_regex, log_passwords
 * off): once output ends with a password prompt, recorded input is masked
 * up to and including the next CR or LF. A struct pcl_passprompt follows
 * one session (output and input of the same terminal). Output that comes
 * while the answer is typed (echoed asterisks) does not end it; output
 * that replaces the prompt before any input does.
 */
struct pcl_passprompt;

/* pattern NULL: the default, which matches "Password:", "password for x:",
 * "Passphrase for key ...:", "PIN:" and the like at the end of a line.
 * A pattern of one's own replaces it and must match up to the end of the
 * prompt ("Token:", not "Token"); blanks and one line break may follow.
 * Returns 0, PCL_ERR_CONFIG (why filled) or PCL_ERR_NOMEM; *out owned by
 * the caller (pcl_passprompt_free), NULL on error. */
int pcl_passprompt_new(const char *pattern, struct pcl_passprompt **out,
                       char *why, size_t whylen);
/* Frees p; NULL is a no-op. */
void pcl_passprompt_free(struct pcl_passprompt *p);

/* Shows the engine output the user saw (it keeps the last 256 bytes). */
void pcl_passprompt_output(struct pcl_passprompt *p, const uint8_t *buf,
                           size_t len);

/*
 * Rewrites len bytes of input in place for the recording: while a prompt
 * is answered each byte but CR/LF becomes '*'. Returns true when any byte
 * was masked (the caller records an "m" marker).
 */
bool pcl_passprompt_input(struct pcl_passprompt *p, uint8_t *buf, size_t len);

#endif /* PCL_MASK_H */
