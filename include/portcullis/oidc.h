/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenID Connect for the bastion's sign-in: discovery (OpenID Connect
 * Discovery 1.0 section 4), the device authorization grant (RFC 8628),
 * the JWKS with a cache, ID token validation and the mapping of a claim to
 * the local user name. Knows nothing of PAM: the glue prompts. */
#ifndef PCL_OIDC_H
#define PCL_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "portcullis/http.h"
#include "portcullis/jwt.h"

#define PCL_OIDC_SLOW_DOWN_S 5     /* RFC 8628 3.5: slow_down adds 5 s */
#define PCL_OIDC_MAX_RESPONSE 65536 /* bytes of any IdP response */
#define PCL_OIDC_DISCOVERY_TTL 3600 /* seconds a cached discovery is used */
#define PCL_OIDC_JWKS_TTL 3600 /* seconds a cached JWKS is used at most */
#define PCL_OIDC_MAX_GROUPS 64
#define PCL_OIDC_MAX_GROUP_LEN 64

/* The client and the transport; strings borrowed for the calls. */
struct pcl_oidc_params {
    const char *issuer;        /* https URL, exactly as "iss" */
    const char *client_id;
    const char *client_secret; /* NULL: public client (RFC 8628 3.1) */
    const char *scopes;        /* space separated, "openid" included */
    const char *audience;      /* NULL or "": not sent */
    struct pcl_http_params http;
    unsigned default_interval_s; /* RFC 8628 3.2 default: 5 */
    const char *state_dir;     /* root-only cache directory, or NULL */
    unsigned jwks_cooldown_s;  /* least time between two JWKS fetches */
};

/* The endpoints that matter here; owned strings (pcl_oidc_discovery_clear). */
struct pcl_oidc_discovery {
    char *device_authorization_endpoint;
    char *token_endpoint;
    char *jwks_uri;
};

/* A device authorization response (RFC 8628 3.2); owned strings,
 * device_code a secret (pcl_oidc_device_clear wipes it). */
struct pcl_oidc_device {
    char *device_code;
    char *user_code;
    char *verification_uri;
    char *verification_uri_complete; /* or NULL */
    unsigned expires_in;             /* seconds */
    unsigned interval;               /* seconds, >= 1 */
};

/* How a device flow ended (RFC 8628 3.5). */
enum pcl_oidc_result {
    PCL_OIDC_APPROVED = 0,  /* id_token received */
    PCL_OIDC_DENIED,        /* access_denied */
    PCL_OIDC_EXPIRED,       /* expired_token, or expires_in passed */
    PCL_OIDC_TIMEOUT,       /* our own deadline passed first */
    PCL_OIDC_UNREACHABLE,   /* the token endpoint could not be reached */
    PCL_OIDC_ERROR,         /* any other error answer */
};

/*
 * Reads the discovery document of p->issuer (from the cache in state_dir
 * when younger than PCL_OIDC_DISCOVERY_TTL), checks that its "issuer" is
 * p->issuer exactly and that every endpoint is https. Returns 0 with *d
 * filled; PCL_ERR_CONNECT when the IdP cannot be reached (and no cached
 * copy exists); PCL_ERR_SYNTAX for a bad document; PCL_ERR_NOMEM.
 */
int pcl_oidc_discover(const struct pcl_oidc_params *p,
                      struct pcl_oidc_discovery *d, char *why, size_t whylen);
void pcl_oidc_discovery_clear(struct pcl_oidc_discovery *d);

/*
 * Starts a device authorization (RFC 8628 3.1) with p's client, scopes and
 * audience. Returns 0 with *dev filled (interval defaulted to
 * p->default_interval_s when absent); PCL_ERR_CONNECT when unreachable;
 * PCL_ERR_DENIED when the IdP refused (why gives its error code);
 * PCL_ERR_SYNTAX for a malformed answer; PCL_ERR_NOMEM.
 */
int pcl_oidc_device_authorize(const struct pcl_oidc_params *p,
                              const struct pcl_oidc_discovery *d,
                              struct pcl_oidc_device *dev, char *why,
                              size_t whylen);
void pcl_oidc_device_clear(struct pcl_oidc_device *dev);

/*
 * Polls the token endpoint (RFC 8628 3.4, 3.5): the first request at once,
 * then every dev->interval seconds; authorization_pending waits,
 * slow_down adds PCL_OIDC_SLOW_DOWN_S to the interval for good. Stops at
 * deadline (CLOCK_MONOTONIC seconds) or when expires_in has passed since
 * issued (CLOCK_MONOTONIC seconds when the device code was obtained).
 * On PCL_OIDC_APPROVED *id_token is an owned secret string (wipe and free
 * it); otherwise NULL. *npolls counts the requests made. why says how it
 * ended, without secrets.
 */
enum pcl_oidc_result pcl_oidc_poll(const struct pcl_oidc_params *p,
                                   const struct pcl_oidc_discovery *d,
                                   struct pcl_oidc_device *dev,
                                   time_t issued, time_t deadline,
                                   char **id_token, unsigned *npolls,
                                   char *why, size_t whylen);

/*
 * Validates an ID token with pcl_jwt_verify against the IdP's JWKS: read
 * from the cache in state_dir when there is one younger than
 * PCL_OIDC_JWKS_TTL, fetched otherwise; when
 * no key has the token's kid, fetched again, but at most once per
 * p->jwks_cooldown_s (counted from the cached copy's fetch time). Returns
 * as pcl_jwt_verify, or PCL_ERR_CONNECT when no JWKS could be had.
 */
int pcl_oidc_validate(const struct pcl_oidc_params *p,
                      const struct pcl_oidc_discovery *d, const char *id_token,
                      const struct pcl_jwt_rules *rules, struct pcl_jwt **out,
                      char *why, size_t whylen);

/* How a claim becomes the local user name. Strings borrowed. */
struct pcl_oidc_usermap {
    const char *claim;        /* preferred_username | email | sub */
    const char *email_domain; /* with claim email: required domain, which
                               * is cut off; NULL or "": whole address */
    const char *map_file;     /* "CLAIM-VALUE USER" lines, or NULL/"" */
};

/*
 * Checks that the token's mapped claim names pam_user: equal to it (after
 * the email domain rule), or listed with it in the map file. An email
 * whose email_verified is false is refused. Returns 0, PCL_ERR_DENIED (why
 * says which claim value was seen, sanitized), PCL_ERR_CONFIG when the map
 * file cannot be read safely.
 */
int pcl_oidc_map_user(const struct pcl_jwt *t,
                      const struct pcl_oidc_usermap *m, const char *pam_user,
                      char *why, size_t whylen);

/* True when s is acceptable as a group name from the IdP: 1 to
 * PCL_OIDC_MAX_GROUP_LEN bytes of [A-Za-z0-9._@+-]. */
bool pcl_oidc_group_ok(const char *s);

/*
 * The verification URI remembered from the last device authorization (in
 * state_dir), for the look-alike prompt shown to a user who does not
 * exist; fallback when there is none. Returns an owned string or NULL.
 */
char *pcl_oidc_cached_verification_uri(const struct pcl_oidc_params *p,
                                       const char *fallback);

/* A user code that looks like the IdP's ("BCDF-GHJK"), from the RFC 8628
 * 6.1 base-20 alphabet, into out (>= 10 bytes). */
void pcl_oidc_fake_user_code(char *out, size_t outlen);

#endif /* PCL_OIDC_H */
