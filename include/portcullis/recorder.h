/* SPDX-License-Identifier: BSD-2-Clause */
/* The recorder: what the relay's tap feeds. Output goes through the mask
 * (one engine per stream), input through the password-prompt filter, both
 * into the asciicast writer, which seals the file at the end. */
#ifndef PCL_RECORDER_H
#define PCL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/cast.h"
#include "portcullis/relay.h"

struct pcl_recorder;

/* A masking rule of the policy. Borrowed strings. */
struct pcl_recorder_rule {
    const char *name;
    const char *pattern;     /* PCRE2 */
    const char *replacement;
};

struct pcl_recorder_params {
    struct pcl_cast_params cast;      /* the file, header, seal key */
    const struct pcl_recorder_rule *rules;
    size_t nrules;
    bool builtin_rules;               /* add the mask's built-in set */
    unsigned mask_holdback_ms;        /* longest a partial match is held */
    bool record_input;                /* "i" events (masked after prompts) */
    const char *passprompt;           /* NULL: the default prompt regex */
    bool continue_on_error;           /* on-error = continue */
    bool mask_live;                   /* the user sees masked output too
                                       * (the tap is then a live tap of
                                       * relay.h; pcl_relay_run only) */
};

/*
 * Compiles the rules and opens the recording. Returns 0 with *out owned by
 * the caller (pcl_recorder_finish, or pcl_recorder_free on a path that
 * never started), PCL_ERR_CONFIG (a rule), PCL_ERR_IO (the file) or
 * PCL_ERR_NOMEM; why (whylen bytes) says which. No secret is in why.
 */
int pcl_recorder_new(const struct pcl_recorder_params *p,
                     struct pcl_recorder **out, char *why, size_t whylen);

/* Adds an exact secret the proxy injected, masked in both output streams
 * from now on (typed input is covered by the password-prompt rule).
 * Returns 0, PCL_ERR_INVAL (too short) or PCL_ERR_NOMEM. */
int pcl_recorder_add_secret(struct pcl_recorder *r, const char *name,
                            const uint8_t *secret, size_t len);

/* The tap for pcl_relay_run; borrowed from r. */
const struct pcl_relay_tap *pcl_recorder_tap(struct pcl_recorder *r);

/* Writes a policy or approval marker ("m") now. Returns 0 or PCL_ERR_IO. */
int pcl_recorder_marker(struct pcl_recorder *r, const char *label);

/* True once writing failed (with continue_on_error, the session went on
 * unrecorded from then: the caller audits it). */
bool pcl_recorder_failed(const struct pcl_recorder *r);

/* Number of masked spans so far. */
uint64_t pcl_recorder_masked(const struct pcl_recorder *r);

/*
 * Releases what the masks hold, records the exit (status, or signame when
 * not NULL/""), seals and closes the file, frees r. Returns 0 (sealed),
 * PCL_ERR_IO (the file is unsealed or incomplete) or PCL_ERR_NOMEM.
 */
int pcl_recorder_finish(struct pcl_recorder *r, int status,
                        const char *signame);

/* Frees r without a seal (an aborted start); NULL is a no-op. */
void pcl_recorder_free(struct pcl_recorder *r);

#endif /* PCL_RECORDER_H */
