/* SPDX-License-Identifier: BSD-2-Clause */
/* The identity ticket: what pam_portcullis learned about the user (OIDC
 * subject, issuer, groups, when, with which SSH key), HMAC-SHA256 signed
 * with a key only root and group portcullis can read, handed to the proxy
 * in the PAM environment as PORTCULLIS_TICKET. */
#ifndef PCL_TICKET_H
#define PCL_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PCL_TICKET_ENV "PORTCULLIS_TICKET"
/* Wire format version: "v1.<base64url JSON>.<base64url HMAC>". Changing the
 * layout needs a new version; proxies refuse versions they do not know. */
#define PCL_TICKET_VERSION "v1"
#define PCL_TICKET_MAX 8192      /* bytes of an encoded ticket */
#define PCL_TICKET_MAX_GROUPS 64
#define PCL_TICKET_KEY_MIN 32    /* bytes of the HMAC key, at least */
#define PCL_TICKET_KEY_MAX 4096
#define PCL_TICKET_SKEW 60       /* seconds a ticket's iat may be ahead */

/* A decoded ticket; fixed buffers, no ownership. */
struct pcl_ticket {
    char user[256];   /* the local (PAM) user */
    char sub[256];    /* OIDC subject */
    char iss[256];    /* OIDC issuer */
    char fp[128];     /* SSH key fingerprint "SHA256:...", or "" */
    char method[16];  /* "device" or "remember" */
    char groups[PCL_TICKET_MAX_GROUPS][65];
    size_t ngroups;
    int64_t auth_time; /* when the IdP sign-in happened (Unix seconds) */
    int64_t iat;       /* when the ticket was made */
    int64_t exp;       /* when it stops being accepted */
};

/*
 * Encodes and signs t with key (keylen bytes, at least
 * PCL_TICKET_KEY_MIN). Returns 0 with *out an owned string, PCL_ERR_INVAL
 * for a short key, PCL_ERR_TOOBIG, PCL_ERR_NOMEM, PCL_ERR_CRYPTO.
 */
int pcl_ticket_issue(const struct pcl_ticket *t, const uint8_t *key,
                     size_t keylen, char **out);

/*
 * Checks s: version, HMAC (constant-time compare), then that it names
 * user, has not expired at now and was not made more than
 * PCL_TICKET_SKEW seconds in the future. Returns 0 with *out filled;
 * PCL_ERR_CRYPTO for a forged or damaged ticket; PCL_ERR_DENIED for an
 * expired ticket or another user's; PCL_ERR_SYNTAX; PCL_ERR_NOMEM. why
 * says which (no key bytes).
 */
int pcl_ticket_verify(const char *s, const uint8_t *key, size_t keylen,
                      const char *user, time_t now, struct pcl_ticket *out,
                      char *why, size_t whylen);

/*
 * The proxy's check: encoded (PORTCULLIS_TICKET, may be NULL) verified with
 * the key in key_path (read as a secret: root:portcullis 0640) for user at
 * now. Returns 0 with *t filled; PCL_ERR_NOTFOUND when there is no ticket;
 * PCL_ERR_CONFIG / PCL_ERR_PERM when the key cannot be used; otherwise as
 * pcl_ticket_verify (a refusal). why says which.
 */
int pcl_ticket_check(const char *key_path, const char *encoded,
                     const char *user, time_t now, struct pcl_ticket *t,
                     char *why, size_t whylen);

/*
 * The fingerprint ("SHA256:" + unpadded base64 of SHA-256 of the key blob,
 * as ssh-keygen -l prints it) of the first publickey method in sshd's
 * SSH_AUTH_INFO_0 text ("publickey TYPE BASE64\n..."), into fp (fplen
 * bytes). Returns 0, or PCL_ERR_NOTFOUND when no public key was used.
 */
int pcl_ticket_fingerprint(const char *auth_info, char *fp, size_t fplen);

/* Bytes a joined group list may need: every group (64 bytes at most) and
 * its separator, and the NUL. */
#define PCL_TICKET_GROUPS_MAX (PCL_TICKET_MAX_GROUPS * 66)

/*
 * Writes t's groups into out (outlen bytes), each followed by sep when
 * after is true, else separated by sep ("a,b" or "a\nb\n"). Always
 * NUL-terminates. Returns 0, or PCL_ERR_TOOBIG when out is too small
 * (out then holds what fitted, cut at a group boundary).
 */
int pcl_ticket_join_groups(const struct pcl_ticket *t, const char *sep,
                           bool after, char *out, size_t outlen);

#endif /* PCL_TICKET_H */
