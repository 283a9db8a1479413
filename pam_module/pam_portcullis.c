/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pam_portcullis: sign in to the bastion with the OpenID Connect device
 * authorization grant (RFC 8628). PAM glue only: the sign-in itself is
 * lib/signin.c. Exports pam_sm_* and nothing else (pam_portcullis.map).
 */
#include "config.h"

#define PAM_SM_AUTH

#include <pwd.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "portcullis/audit.h"
#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/ini.h"
#include "portcullis/log.h"
#include "portcullis/signin.h"
#include "portcullis/ticket.h"

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"

#define EXPORT __attribute__((visibility("default")))

/* One PAM conversation: info lines and an echo-on question in one call,
 * because sshd shows text only together with a prompt. */
static int
converse(void *ctx, const char *info, const char *question, char **answer)
{
    pam_handle_t *pamh = ctx;
    const struct pam_conv *conv = NULL;
    struct pam_message msg[2];
    const struct pam_message *pmsg[2];
    struct pam_response *resp = NULL;
    int n = 0;
    int i;
    int rc;

    *answer = NULL;
    if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS ||
        conv == NULL || conv->conv == NULL) {
        return -1;
    }
    if (info != NULL) {
        msg[n].msg_style = PAM_TEXT_INFO;
        msg[n].msg = info;
        n++;
    }
    msg[n].msg_style = PAM_PROMPT_ECHO_ON;
    msg[n].msg = question;
    n++;
    for (i = 0; i < n; i++) {
        pmsg[i] = &msg[i];
    }
    rc = conv->conv(n, pmsg, &resp, conv->appdata_ptr);
    if (rc != PAM_SUCCESS) {
        return -1;
    }
    if (resp != NULL) {
        for (i = 0; i < n; i++) {
            if (resp[i].resp != NULL) {
                if (i == n - 1) {
                    *answer = resp[i].resp; /* transfer ownership */
                } else {
                    free(resp[i].resp);
                }
            }
        }
        free(resp);
    }
    return 0;
}

/* Lines of libportcullis go to pam_syslog, as the module's own. */
static void
log_to_pam(void *ctx, enum pcl_log_level level, const char *msg)
{
    pam_syslog((pam_handle_t *)ctx,
               level == PCL_LOG_ERROR  ? LOG_ERR
               : level <= PCL_LOG_VERBOSE ? LOG_INFO
                                          : LOG_DEBUG,
               "%s", msg);
}

struct options {
    const char *config;
    bool debug;
};

static void
parse_options(pam_handle_t *pamh, int argc, const char **argv,
              struct options *o)
{
    int i;

    o->config = DEFAULT_CONFIG;
    o->debug = false;
    for (i = 0; i < argc; i++) {
        if (strncmp(argv[i], "config=", 7) == 0) {
            o->config = argv[i] + 7;
        } else if (strcmp(argv[i], "debug") == 0) {
            o->debug = true;
        } else {
            pam_syslog(pamh, LOG_ERR, "unknown option \"%.64s\" ignored",
                       argv[i]);
        }
    }
}

EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                    const char **argv)
{
    struct options o;
    struct pcl_diag *diag = NULL;
    struct pcl_conf *conf = NULL;
    struct pcl_audit *audit = NULL;
    struct pcl_signin_request rq;
    const char *user = NULL;
    const void *rhost = NULL;
    char *ticket = NULL;
    char *env = NULL;
    char why[1024] = "";
    size_t i;
    int ret = PAM_AUTH_ERR;

    (void)flags;
    parse_options(pamh, argc, argv, &o);
    pcl_log_set_hook(log_to_pam, pamh);
    if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
        user[0] == '\0') {
        pcl_log_set_hook(NULL, NULL);
        return PAM_USER_UNKNOWN;
    }
    (void)pam_get_item(pamh, PAM_RHOST, &rhost);
    if (pcl_diag_new(&diag) != PCL_OK) {
        pcl_log_set_hook(NULL, NULL);
        return PAM_BUF_ERR;
    }
    if (pcl_conf_load(o.config, diag, &conf) != PCL_OK) {
        /* Every error with its file:line, then deny. */
        for (i = 0; i < pcl_diag_count(diag); i++) {
            pam_syslog(pamh, LOG_ERR, "%s", pcl_diag_get(diag, i));
        }
        ret = PAM_AUTH_ERR;
        goto out;
    }
    {
        struct pcl_audit_params ap = {
            .json_log = conf->json_log,
            .syslog = conf->audit_syslog,
            .kernel = conf->audit_kernel,
            .required = conf->audit_required,
            .addr = rhost,
        };
        if (pcl_audit_open(&ap, &audit) != PCL_OK) {
            pam_syslog(pamh, LOG_ERR, "event log %s unavailable",
                       conf->json_log);
            if (conf->audit_required) {
                ret = PAM_AUTH_ERR;
                goto out;
            }
            ap.json_log = NULL;
            (void)pcl_audit_open(&ap, &audit);
        }
    }
    memset(&rq, 0, sizeof(rq));
    rq.user = user;
    /* Decided here, once; the sign-in never contacts the IdP for a user
     * that does not exist, and looks the same to the client. */
    rq.user_exists = getpwnam(user) != NULL;
    rq.auth_info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
    rq.rhost = rhost;
    rq.prompt = converse;
    rq.prompt_ctx = pamh;
    switch (pcl_signin_run(conf, &rq, audit, &ticket, why, sizeof(why))) {
    case PCL_SIGNIN_OK:
        if (asprintf(&env, "%s=%s", PCL_TICKET_ENV, ticket) < 0) {
            env = NULL;
            ret = PAM_BUF_ERR;
            break;
        }
        if (pam_putenv(pamh, env) != PAM_SUCCESS) {
            pam_syslog(pamh, LOG_ERR, "cannot set %s", PCL_TICKET_ENV);
            ret = PAM_SYSTEM_ERR;
            break;
        }
        pam_syslog(pamh, LOG_INFO, "%s", why);
        ret = PAM_SUCCESS;
        break;
    case PCL_SIGNIN_FAILOPEN:
        pam_syslog(pamh, LOG_WARNING, "%s", why);
        ret = PAM_SUCCESS;
        break;
    case PCL_SIGNIN_CONFIG:
        pam_syslog(pamh, LOG_ERR, "configuration: %s", why);
        ret = PAM_AUTH_ERR;
        break;
    case PCL_SIGNIN_DENIED:
        pam_syslog(pamh, LOG_NOTICE, "sign-in of %.64s refused: %s", user,
                   why);
        ret = PAM_AUTH_ERR;
        break;
    }
out:
    if (ticket != NULL) {
        explicit_bzero(ticket, strlen(ticket));
        free(ticket);
    }
    if (env != NULL) {
        explicit_bzero(env, strlen(env));
        free(env);
    }
    pcl_audit_close(audit);
    pcl_conf_free(conf);
    pcl_diag_free(diag);
    pcl_log_set_hook(NULL, NULL);
    return ret;
}

/* No credentials to set. The ticket travels in the PAM environment,
 * which sshd copies from its authentication process into the session's,
 * so the module has no session part either. */
EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
