/* SPDX-License-Identifier: BSD-2-Clause */
/* policy.conf: immutable rules that turn (identity, request) into a
 * decision allow/deny with a rule id and a reason. No I/O while evaluating. */
#ifndef PCL_POLICY_H
#define PCL_POLICY_H

#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>

#include "portcullis/ini.h"

struct pcl_policy;
struct pcl_target;

/* Who is asking: the local user and every group it belongs to. Borrowed. */
struct pcl_identity {
    const char *user;
    const char *const *groups;
    size_t ngroups;
};

enum pcl_decision_kind {
    PCL_DECISION_DENY = 0,
    PCL_DECISION_ALLOW = 1,
};

/* Outcome of pcl_policy_decide. target is borrowed from the policy. */
struct pcl_decision {
    enum pcl_decision_kind decision;
    const struct pcl_target *target; /* NULL when the target is unknown */
    char account[64];   /* the account the session will use */
    char rule[128];     /* "policy.conf:12" of the deciding entry, or
                         * "default-deny" */
    char reason[256];   /* for logs and audit, never shown verbatim to a
                         * user who was denied */
};

/*
 * Checks the policy cannot do itself (it knows no SSH library): each returns
 * 0 or fills why (whylen bytes) and returns non-zero. Either may be NULL.
 */
struct pcl_policy_checks {
    int (*algorithms)(const char *key, const char *list, char *why,
                      size_t whylen);
    int (*host_key)(const char *pin, char *why, size_t whylen);
    int (*mask_pattern)(const char *pattern, char *why, size_t whylen);
};

/*
 * Reads and checks policy.conf at path, with checks (may be NULL); every
 * problem goes to diag as
 * "file:line: message". Returns 0 with *out owned by the caller
 * (pcl_policy_free), or PCL_ERR_CONFIG / PCL_ERR_PERM / PCL_ERR_NOTFOUND /
 * PCL_ERR_NOMEM with *out = NULL. Any error denies everything.
 */
int pcl_policy_load(const char *path, const struct pcl_policy_checks *checks,
                    struct pcl_diag *diag, struct pcl_policy **out);

/* Frees a policy; NULL is a no-op. */
void pcl_policy_free(struct pcl_policy *p);

/*
 * Decides whether id may open a session on target as account (NULL: the
 * target's default account). First match wins; default deny. Fills *d.
 * Returns 0 (allow) or PCL_ERR_DENIED.
 */
int pcl_policy_decide(const struct pcl_policy *p,
                      const struct pcl_identity *id, const char *target,
                      const char *account, struct pcl_decision *d);

/*
 * Decides whether id may use the built-in verb ("replay", "sessions") of
 * the proxy: allowed by the first [role] whose may list names the verb and
 * whose members match id (a matching negated member excludes id from that
 * role). Default deny. Fills *d (target NULL; rule is file:line of the
 * matching member). Returns 0 (allow) or PCL_ERR_DENIED.
 */
int pcl_policy_may(const struct pcl_policy *p, const struct pcl_identity *id,
                   const char *verb, struct pcl_decision *d);

/* Number of targets, and the i-th in file order (borrowed). */
size_t pcl_policy_ntargets(const struct pcl_policy *p);
const struct pcl_target *pcl_policy_target(const struct pcl_policy *p,
                                           size_t i);

/* Calls fn for every "section key" pair the policy grammar knows. */
void pcl_policy_foreach_key(void (*fn)(const char *section, const char *key,
                                       void *ctx),
                            void *ctx);

/* Accessors of a target; strings are borrowed from the policy. */
const char *pcl_target_name(const struct pcl_target *t);
const char *pcl_target_description(const struct pcl_target *t);
const char *pcl_target_host(const struct pcl_target *t);
unsigned pcl_target_port(const struct pcl_target *t);
/* Seconds to reach the target, from the target or [defaults]; 0 when the
 * policy leaves it to portcullis.conf. */
unsigned pcl_target_connect_timeout(const struct pcl_target *t);
/* Algorithm lists, comma-separated, in libssh's and OpenSSH's names. */
const char *pcl_target_kex(const struct pcl_target *t);
const char *pcl_target_ciphers(const struct pcl_target *t);
const char *pcl_target_macs(const struct pcl_target *t);
const char *pcl_target_hostkey_algorithms(const struct pcl_target *t);
/* Pinned host keys: "TYPE BASE64" or "SHA256:BASE64" fingerprints. */
size_t pcl_target_nhost_keys(const struct pcl_target *t);
const char *pcl_target_host_key(const struct pcl_target *t, size_t i);
/* Whether the target's allow list admits id (for the menu). */
int pcl_target_is_allowed(const struct pcl_target *t,
                          const struct pcl_identity *id);

/* Most mask rule sets one target may name. */
#define PCL_POLICY_MASKS_MAX 64

/* Mask rule sets the target's recordings use, in order ("builtin" names
 * the built-in set, "none" alone turns masking off). */
size_t pcl_target_nmasks(const struct pcl_target *t);
const char *pcl_target_mask(const struct pcl_target *t, size_t i);

/* mask-live: true when the user's own screen gets the masked output too
 * (the target's value, else [defaults]', else false). */
bool pcl_target_mask_live(const struct pcl_target *t);

/*
 * Looks up the [mask NAME] section: pattern (PCRE2) and replacement,
 * borrowed from the policy. Returns 0 or PCL_ERR_NOTFOUND ("builtin" and
 * unknown names).
 */
int pcl_policy_mask(const struct pcl_policy *p, const char *name,
                    const char **pattern, const char **replacement);

/*
 * Expands the target's credential template (%t target, %a account, %%)
 * into out (outlen bytes). Returns 0 or PCL_ERR_TOOBIG.
 */
int pcl_target_credential(const struct pcl_target *t, const char *account,
                          char *out, size_t outlen);

/* Whether and how a session needs just-in-time approval (the approval
 * keys of its target). Durations 0 and required 0 mean "portcullis.conf's
 * [approval] default". */
struct pcl_approval_rule {
    int needed;            /* non-zero: the session needs a live grant */
    int command_scoped;    /* needed only because the exec command matched
                            * an approval-command: the grant covers that
                            * command only */
    unsigned required;     /* distinct approvals, 1-16, or 0 */
    unsigned grant_ttl;    /* seconds, or 0 */
    unsigned request_timeout; /* seconds, or 0 */
    char rule[128];        /* "policy.conf:LINE" of the deciding key */
};

/*
 * Fills *out for a session of the target t of p as account, running
 * command (NULL: a shell): approval is needed when the target has an
 * approval list and account matches approval-accounts (every account when
 * the key is absent), or command matches an approval-command pattern
 * (PCRE2, unanchored). Returns 0 or PCL_ERR_NOMEM.
 */
int pcl_target_approval(const struct pcl_policy *p, const struct pcl_target *t,
                        const char *account, const char *command,
                        struct pcl_approval_rule *out);

/* Whether the target has an approval list (some of its sessions may need
 * approval, so the approval store must be usable). */
int pcl_target_has_approval(const struct pcl_target *t);

/* Whether the target's approval list admits id as an approver (user:,
 * group:, !negation as in allow). Whether id is the requester is the
 * approval store's check. */
int pcl_target_may_approve(const struct pcl_target *t,
                           const struct pcl_identity *id);

#endif /* PCL_POLICY_H */
