/* SPDX-License-Identifier: BSD-2-Clause */
/* Just-in-time approval in the proxy: the requester's wait, the approvers'
 * verbs, and the watch that ends a session when its grant does. Process
 * glue over lib/approval.c, lib/webhook.c and the policy. */
#ifndef PCL_JIT_H
#define PCL_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/approval.h"
#include "portcullis/audit.h"
#include "portcullis/cmdline.h"
#include "portcullis/conf.h"
#include "portcullis/policy.h"
#include "portcullis/relay.h"

/* Exit codes of the approval paths (portcullis(8), EXIT STATUS). */
#define JIT_EXIT_PENDING 75     /* EX_TEMPFAIL: request stored, not yet
                                 * approved (no terminal), or it expired */
#define JIT_EXIT_DENIED 77      /* EX_NOPERM: denied, or the grant ended */
#define JIT_EXIT_CANCELLED 130  /* the requester pressed Ctrl-C */

/* main.c: a message for the person at the other end of ssh ("portcullis:
 * " and a line end fit for a terminal). */
void tell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Emits one audit event with the proxy's common fields (main.c's emit). */
typedef int (*jit_emit_fn)(void *ctx, const char *event, const char *target,
                           const char *account, const char *command,
                           const struct pcl_audit_field *extra,
                           size_t nextra);

/* The approval state of one invocation. Pointers are borrowed; store is
 * owned (jit_close). */
struct jit {
    const struct pcl_conf *conf;
    const struct pcl_policy *policy;
    const struct pcl_identity *id;
    const char *session_id;
    jit_emit_fn emit;
    void *emit_ctx;
    struct pcl_approval *store;  /* opened by jit_open_store */
    char approval_id[PCL_APPROVAL_ID_LEN + 1]; /* the session's grant or "" */
    int64_t grant_until;         /* Unix seconds, 0 without a grant */
};

/*
 * Takes "--reason TEXT" from the front of an exec command (TEXT runs to a
 * " -- " or the end; one layer of matching quotes is removed). The rest
 * becomes the command again, or a shell when nothing is left. *reason is
 * NULL or a string the caller frees. Returns 0, PCL_ERR_SYNTAX (empty
 * reason) or PCL_ERR_NOMEM.
 */
int jit_take_reason(struct pcl_cmdline *cl, char **reason);

/* Opens the store of [approval] directory while the process holds the
 * group. Returns 0 or an exit code after telling the user. */
int jit_open_store(struct jit *j);

/*
 * Decides whether the allowed session d (command NULL: a shell) may start
 * now: no approval needed, or a live grant (j->approval_id and
 * j->grant_until set). Else creates a request (reason, or asks for one on
 * the terminal), notifies, and with a terminal waits for the decision with
 * a countdown that Ctrl-C cancels; without one tells the request id and
 * returns JIT_EXIT_PENDING. Returns 0 (start the session) or an exit code.
 */
int jit_gate(struct jit *j, const struct pcl_decision *d,
             const char *command, bool interactive, const char *reason);

/* True when verb is one of requests, approve, deny, grants, revoke. */
bool jit_is_verb(const char *verb);

/* Runs an approval verb with its argument line (NULL: none). Returns the
 * exit code. */
int jit_verb(struct jit *j, const char *verb, const char *args);

struct jit_watch;

/*
 * A relay tap around inner (may be NULL) that every poll-interval re-reads
 * the session's grant: warns on warn_fd warn-before seconds before it ends,
 * and ends the session (the tick fails) once it ended or was revoked.
 * Returns 0 with *out owned by the caller (jit_watch_free) or
 * PCL_ERR_NOMEM.
 */
int jit_watch_new(struct jit *j, const struct pcl_relay_tap *inner,
                  int warn_fd, struct jit_watch **out);
const struct pcl_relay_tap *jit_watch_tap(struct jit_watch *w);
/* NULL while the grant lives, else "expired" or "revoked". */
const char *jit_watch_ended(const struct jit_watch *w);
void jit_watch_free(struct jit_watch *w);

/* Closes the store; the struct may be reused. */
void jit_close(struct jit *j);

#endif /* PCL_JIT_H */
