/* SPDX-License-Identifier: BSD-2-Clause */
/* portcullis.conf: one keyword table drives the struct, defaults, parser,
 * and the dump of `portcullis -T`. */
#ifndef PCL_CONF_H
#define PCL_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "portcullis/ini.h"

/* Parsed portcullis.conf. Strings are owned by the struct (pcl_conf_free). */
struct pcl_conf {
    /* [proxy] */
    char *policy;               /* path of policy.conf */
    char *credentials;          /* directory of target private keys */
    unsigned connect_timeout;   /* seconds (1-3600), target connect + kex */
    unsigned keepalive_interval; /* seconds between keepalives (0 = off,
                                  * at most 32767: Linux's TCP limit) */
    unsigned keepalive_count_max; /* 1-127: TCP keepalive probes, and the
                                   * multiplier of TCP_USER_TIMEOUT */
    char *log_level;            /* error|info|verbose|debug|debug2|debug3 */
    /* [recording] */
    char *rec_directory;        /* sessions/YYYY/MM/DD/ID.cast below it */
    char *rec_format;           /* asciicast-v2 | asciicast-v3 */
    bool rec_input;             /* record "i" events */
    unsigned rec_flush_interval_ms;
    char *rec_on_error;         /* terminate | continue */
    unsigned rec_mask_holdback_ms;
    char *rec_seal_key;         /* HMAC key file, root:portcullis 0640 */
    char *rec_index;            /* SQLite session index, or "" */
    /* [audit] */
    char *json_log;             /* path of the JSON-lines event log, or "" */
    bool audit_syslog;          /* also write events to syslog */
    bool audit_kernel;          /* also write Linux audit records */
    bool audit_required;        /* an event not written refuses a session */
    /* [vault] */
    char *vault_backend;        /* file | command | ssh-ca | keys */
    char *vault_directory;      /* sealed entries (file), key files (keys) */
    char *vault_master_key;     /* master key file, root:portcullis 0640 */
    char *vault_command;        /* helper argv with %-tokens, or "" */
    unsigned vault_command_timeout_ms;  /* milliseconds */
    unsigned vault_command_max_output;  /* bytes */
    unsigned vault_cert_validity;       /* ssh-ca: seconds */
    unsigned vault_cert_backdate;       /* ssh-ca: seconds (clock skew) */
    /* [approval] */
    char *appr_directory;       /* the approval store, root:portcullis 2770 */
    unsigned appr_required;     /* default approvals-required, 1-16 */
    unsigned appr_grant_ttl;    /* default grant-ttl, seconds */
    unsigned appr_request_timeout; /* default request-timeout, seconds */
    unsigned appr_warn_before;  /* seconds before a grant ends to warn */
    unsigned appr_poll_interval_ms; /* how often waits check the store */
    char *appr_webhook;         /* https:// URL notified, or "" */
    char *appr_webhook_format;  /* json | slack */
    unsigned appr_webhook_timeout; /* seconds per attempt */
    unsigned appr_webhook_retries; /* attempts after the first */
    char *appr_webhook_ca;      /* CA bundle for the webhook, or "" */
    /* [oidc]: pam_portcullis(8) and the proxy's identity ticket */
    char *oidc_issuer;          /* https URL, or "" (no OIDC) */
    char *oidc_client_id;
    char *oidc_client_secret_file; /* path, or "" (public client) */
    char *oidc_scopes;          /* space separated */
    char *oidc_audience;        /* or "" */
    char *oidc_username_claim;  /* preferred_username | email | sub */
    char *oidc_email_domain;    /* or "" */
    char *oidc_user_map;        /* path, or "" */
    char *oidc_groups_claim;    /* or "" (no groups) */
    char *oidc_ca_file;         /* path, or "" (system trust store) */
    char *oidc_algorithms;      /* comma list: RS256, PS256, ES256, EdDSA */
    char *oidc_failmode;        /* secure | open */
    unsigned oidc_timeout;      /* seconds per HTTPS request */
    unsigned oidc_login_timeout; /* seconds for the whole sign-in */
    unsigned oidc_interval;     /* seconds: poll interval when none given */
    unsigned oidc_leeway;       /* seconds of clock skew on exp/nbf/iat */
    unsigned oidc_max_age;      /* seconds an ID token may be old (iat) */
    unsigned oidc_jwks_cooldown; /* seconds between JWKS refetches */
    char *oidc_state_dir;       /* root-only cache of discovery and JWKS */
    unsigned oidc_remember;     /* seconds; 0 = off */
    char *oidc_remember_store;  /* SQLite file, root 0600 */
    char *oidc_ticket_key;      /* HMAC key, root:portcullis 0640 */
    unsigned oidc_ticket_lifetime; /* seconds a ticket is accepted */
    bool oidc_require_ticket;   /* proxy: no ticket, no session */
    bool oidc_qr;               /* a QR code of the URI in the prompt */
};

/*
 * Reads and checks the file at path (owner root, or the invoking user when
 * unprivileged; not writable by group or others). Every problem is added
 * to diag as "file:line: message". Returns 0 with *out owned by the caller,
 * or PCL_ERR_CONFIG / PCL_ERR_PERM / PCL_ERR_NOTFOUND / PCL_ERR_NOMEM with
 * *out = NULL.
 */
int pcl_conf_load(const char *path, struct pcl_diag *diag,
                  struct pcl_conf **out);

/* Frees a config; NULL is a no-op. */
void pcl_conf_free(struct pcl_conf *c);

/* Writes every key with its effective value, one "section.key = value" per
 * line, in table order. */
void pcl_conf_dump(const struct pcl_conf *c, FILE *fp);

/* Calls fn for every "section key" pair of the keyword table (for tests
 * that check the man page documents each one). */
void pcl_conf_foreach_key(void (*fn)(const char *section, const char *key,
                                     void *ctx),
                          void *ctx);

#endif /* PCL_CONF_H */
