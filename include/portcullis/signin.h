/* SPDX-License-Identifier: BSD-2-Clause */
/* The bastion sign-in as pam_portcullis(8) runs it: remember check, device
 * flow, ID token validation, user mapping, identity ticket, audit events.
 * The PAM glue supplies the conversation; nothing here speaks PAM. */
#ifndef PCL_SIGNIN_H
#define PCL_SIGNIN_H

#include <stdbool.h>
#include <stddef.h>

#include "portcullis/audit.h"
#include "portcullis/conf.h"

#define PCL_SIGNIN_PAD_MS 300 /* least time before the first prompt, ms */

/*
 * Shows info (lines, may be NULL) and asks question with echo on; *answer
 * is an owned string (the glue frees it) or NULL. Returns 0, or non-zero
 * when the client went away.
 */
typedef int (*pcl_signin_prompt_fn)(void *ctx, const char *info,
                                    const char *question, char **answer);

/* One sign-in attempt; strings borrowed. */
struct pcl_signin_request {
    const char *user;      /* PAM_USER, never changed */
    bool user_exists;      /* getpwnam(user) found it */
    const char *auth_info; /* sshd's SSH_AUTH_INFO_0, or NULL */
    const char *rhost;     /* PAM_RHOST, or NULL */
    pcl_signin_prompt_fn prompt;
    void *prompt_ctx;
};

/* How it ended. */
enum pcl_signin_outcome {
    PCL_SIGNIN_OK,        /* *ticket set */
    PCL_SIGNIN_FAILOPEN,  /* IdP unreachable, failmode open: no ticket */
    PCL_SIGNIN_DENIED,    /* any refusal; why says which */
    PCL_SIGNIN_CONFIG,    /* configuration or key file problem */
};

/*
 * Runs the sign-in for rq under conf, emitting its events to audit (may
 * be NULL). On PCL_SIGNIN_OK, *ticket is an owned string for
 * PORTCULLIS_TICKET (wipe and free it). why (whylen bytes) gets the reason
 * for the log, never a secret.
 */
enum pcl_signin_outcome pcl_signin_run(const struct pcl_conf *conf,
                                       const struct pcl_signin_request *rq,
                                       struct pcl_audit *audit,
                                       char **ticket, char *why,
                                       size_t whylen);

#endif /* PCL_SIGNIN_H */
