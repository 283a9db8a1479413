/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/signin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/jwt.h"
#include "portcullis/log.h"
#include "portcullis/oidc.h"
#include "portcullis/qr.h"
#include "portcullis/remember.h"
#include "portcullis/ticket.h"

#define SECRET_MAX 4096
#define PROMPT_MAX 16384 /* bytes of the prompt text, QR code included */

/* What the user reads for each ending (the log gets the precise why). */
#define SAY_DENIED "The sign-in was denied at the identity provider."
#define SAY_EXPIRED "The code was not approved in time."
#define SAY_REFUSED "The sign-in cannot be accepted for this account."
#define SAY_DOWN "The identity provider cannot be reached; try again later."
#define SAY_CLOSE "Press Enter to close: "

struct run {
    const struct pcl_conf *conf;
    const struct pcl_signin_request *rq;
    struct pcl_audit *audit;
    struct pcl_oidc_params p;
    uint8_t *secret;    /* client secret, or NULL */
    size_t secretlen;
    uint8_t *tkey;      /* ticket HMAC key */
    size_t tkeylen;
    unsigned algs;
    char fp[128];       /* SSH key fingerprint, or "" */
    time_t start;       /* CLOCK_MONOTONIC seconds */
    struct timespec start_ts;
};

static time_t
mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Sleeps until ms milliseconds after the start: the first prompt of a
 * real flow and of the look-alike one come no sooner than this, and an
 * unapproved flow of either kind ends at the same deadline. */
static void
pad_until(const struct run *r, unsigned ms)
{
    struct timespec t = r->start_ts;

    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
    }
}

/* The event oidc-login (pam_portcullis(8), portcullis-audit(5)). */
static void
audit_login(struct run *r, const char *result, const char *method,
            const char *reason, const struct pcl_ticket *t)
{
    char groups[PCL_TICKET_GROUPS_MAX] = "";

    /* Cannot overflow: the buffer holds every group a ticket may carry. */
    if (t != NULL) {
        (void)pcl_ticket_join_groups(t, ",", false, groups, sizeof(groups));
    }
    {
        const struct pcl_audit_field f[] = {
            { "user", r->rq->user },
            { "source", r->rq->rhost },
            { "result", result },
            { "method", method },
            { "reason", reason },
            { "issuer", r->conf->oidc_issuer },
            { "subject", t != NULL ? t->sub : NULL },
            { "groups", t != NULL ? groups : NULL },
            { "fingerprint", r->fp[0] != '\0' ? r->fp : NULL },
        };
        (void)pcl_audit_emit(r->audit, "oidc-login", f,
                             sizeof(f) / sizeof(f[0]));
    }
}

/* Tells the user how it ended: sshd shows text only with a prompt. */
static void
say(struct run *r, const char *msg)
{
    char *answer = NULL;

    if (r->rq->prompt(r->rq->prompt_ctx, msg, SAY_CLOSE, &answer) == 0) {
        free(answer);
    }
}

static int
load_secrets(struct run *r, char *why, size_t whylen)
{
    int rc;

    rc = pcl_file_read_secret(r->conf->oidc_ticket_key, PCL_TICKET_KEY_MAX,
                              &r->tkey, &r->tkeylen, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    if (r->tkeylen < PCL_TICKET_KEY_MIN) {
        pcl_err_why(why, whylen, "%s: a ticket key needs at least %d "
                    "bytes", r->conf->oidc_ticket_key, PCL_TICKET_KEY_MIN);
        return PCL_ERR_CONFIG;
    }
    if (r->conf->oidc_client_secret_file[0] != '\0') {
        rc = pcl_file_read_secret(r->conf->oidc_client_secret_file,
                                  SECRET_MAX, &r->secret, &r->secretlen, why,
                                  whylen);
        if (rc != PCL_OK) {
            return rc;
        }
        /* One line: the trailing newline an editor adds is not part of
         * the secret. */
        while (r->secretlen > 0 && (r->secret[r->secretlen - 1] == '\n' ||
                                    r->secret[r->secretlen - 1] == '\r')) {
            r->secret[--r->secretlen] = '\0';
        }
        if (r->secretlen == 0 || memchr(r->secret, '\0', r->secretlen)) {
            pcl_err_why(why, whylen, "%s: empty or binary client secret",
                        r->conf->oidc_client_secret_file);
            return PCL_ERR_CONFIG;
        }
    }
    if (r->conf->oidc_issuer[0] == '\0' ||
        r->conf->oidc_client_id[0] == '\0') {
        pcl_err_why(why, whylen, "[oidc] issuer and client-id must be set");
        return PCL_ERR_CONFIG;
    }
    return pcl_jwt_parse_algs(r->conf->oidc_algorithms, &r->algs, why,
                              whylen);
}

/* Builds, signs and returns the ticket for identity t. */
static int
make_ticket(struct run *r, struct pcl_ticket *t, const char *method,
            char **ticket)
{
    time_t now = time(NULL);

    snprintf(t->user, sizeof(t->user), "%s", r->rq->user);
    snprintf(t->fp, sizeof(t->fp), "%s", r->fp);
    snprintf(t->method, sizeof(t->method), "%s", method);
    t->iat = (int64_t)now;
    t->exp = (int64_t)now + (int64_t)r->conf->oidc_ticket_lifetime;
    return pcl_ticket_issue(t, r->tkey, r->tkeylen, ticket);
}

struct groups_ctx {
    struct pcl_ticket *t;
    int too_many;
    char bad[80]; /* the first name that is not a valid group, sanitized */
};

static int
add_group(const char *g, void *vctx)
{
    struct groups_ctx *ctx = vctx;

    if (!pcl_oidc_group_ok(g)) {
        /* Never left out: a group dropped here could be the one a
         * "!group:" exclusion (a glob) of the policy names. */
        if (ctx->bad[0] == '\0') {
            pcl_log_sanitize(ctx->bad, sizeof(ctx->bad), g);
        }
        return 0;
    }
    if (ctx->t->ngroups >= PCL_TICKET_MAX_GROUPS) {
        ctx->too_many = 1;
        return 0;
    }
    snprintf(ctx->t->groups[ctx->t->ngroups++], sizeof(ctx->t->groups[0]),
             "%s", g);
    return 0;
}

/* The identity from a verified token: sub, iss, groups, auth_time. */
static int
identity_of(struct run *r, const struct pcl_jwt *jwt, struct pcl_ticket *t,
            char *why, size_t whylen)
{
    struct groups_ctx gc = { t, 0, "" };
    int64_t at;

    memset(t, 0, sizeof(*t));
    if (strlen(pcl_jwt_claim_str(jwt, "sub")) >= sizeof(t->sub) ||
        strlen(r->conf->oidc_issuer) >= sizeof(t->iss)) {
        pcl_err_why(why, whylen, "sub or iss too long");
        return PCL_ERR_TOOBIG;
    }
    snprintf(t->sub, sizeof(t->sub), "%s", pcl_jwt_claim_str(jwt, "sub"));
    snprintf(t->iss, sizeof(t->iss), "%s", r->conf->oidc_issuer);
    t->auth_time = pcl_jwt_claim_int(jwt, "auth_time", &at) == PCL_OK
                       ? at
                       : (int64_t)time(NULL);
    if (r->conf->oidc_groups_claim[0] != '\0') {
        (void)pcl_jwt_claim_foreach(jwt, r->conf->oidc_groups_claim,
                                    add_group, &gc);
    }
    if (gc.bad[0] != '\0') {
        pcl_err_why(why, whylen, "IdP group \"%s\" is not a valid group "
                    "name (1 to %d of A-Z a-z 0-9 . _ - @ +)", gc.bad,
                    PCL_OIDC_MAX_GROUP_LEN);
        return PCL_ERR_SYNTAX;
    }
    if (gc.too_many) {
        /* Fail closed, as the proxy does for local groups: a "!group:"
         * exclusion must never be missed. */
        pcl_err_why(why, whylen, "more than %d groups in the ID token",
                    PCL_TICKET_MAX_GROUPS);
        return PCL_ERR_TOOBIG;
    }
    return PCL_OK;
}

/* Composes the text around the user code; with qr, a QR code of the URI
 * to open follows. */
static void
device_text(char *buf, size_t len, const char *uri, const char *complete,
            const char *code, bool qr)
{
    char u[512], c[512], k[64];
    char *q = NULL;
    size_t n;

    pcl_log_sanitize(u, sizeof(u), uri);
    pcl_log_sanitize(k, sizeof(k), code);
    if (complete != NULL) {
        snprintf(buf, len,
                 "Sign in with your identity provider:\n"
                 "  open  %s\n"
                 "  (or open %s and enter the code %s)\n"
                 "  and check that it shows the code  %s\n",
                 pcl_log_sanitize(c, sizeof(c), complete), u, k, k);
    } else {
        snprintf(buf, len,
                 "Sign in with your identity provider:\n"
                 "  open  %s\n"
                 "  and enter the code  %s\n", u, k);
    }
    n = strlen(buf);
    if (qr && pcl_qr_render(complete != NULL ? c : u, &q) == PCL_OK &&
        n + strlen(q) + 1 < len) {
        memcpy(buf + n, q, strlen(q) + 1);
    }
    free(q);
}

#define QUESTION "Press Enter once you have approved: "

/*
 * A user who does not exist here: no request to the IdP at all, and the
 * same prompts, timing and ending as an existing user who never approves.
 */
static enum pcl_signin_outcome
look_alike(struct run *r, char *why, size_t whylen)
{
    char text[PROMPT_MAX];
    char code[16];
    char complete[600];
    char *uri;
    char *answer = NULL;

    uri = pcl_oidc_cached_verification_uri(&r->p, r->conf->oidc_issuer);
    pcl_oidc_fake_user_code(code, sizeof(code));
    snprintf(complete, sizeof(complete), "%s?user_code=%s",
             uri != NULL ? uri : "", code);
    device_text(text, sizeof(text), uri != NULL ? uri : "", complete, code,
                r->conf->oidc_qr);
    free(uri);
    pad_until(r, PCL_SIGNIN_PAD_MS);
    if (r->rq->prompt(r->rq->prompt_ctx, text, QUESTION, &answer) != 0) {
        pcl_err_why(why, whylen, "the client went away");
        audit_login(r, "failure", "device", why, NULL);
        return PCL_SIGNIN_DENIED;
    }
    free(answer);
    /* The deadline an unapproved code would reach, polled or not. */
    pad_until(r, r->conf->oidc_login_timeout * 1000u);
    pcl_err_why(why, whylen, "no approval before the login deadline");
    audit_login(r, "failure", "device", "no approval before the login "
                "deadline", NULL);
    say(r, SAY_EXPIRED);
    return PCL_SIGNIN_DENIED;
}

/* IdP unreachable: failmode decides, and it is audited either way. */
static enum pcl_signin_outcome
unreachable(struct run *r, const char *what, char *why, size_t whylen)
{
    char reason[512];

    snprintf(reason, sizeof(reason), "identity provider unreachable (%s)",
             what);
    if (strcmp(r->conf->oidc_failmode, "open") == 0) {
        const struct pcl_audit_field f[] = {
            { "user", r->rq->user },
            { "source", r->rq->rhost },
            { "reason", reason },
            { "fingerprint", r->fp[0] != '\0' ? r->fp : NULL },
        };
        (void)pcl_audit_emit(r->audit, "oidc-failopen", f,
                             sizeof(f) / sizeof(f[0]));
        pcl_err_why(why, whylen, "%s: failmode open lets the user in "
                    "without an identity ticket", reason);
        return PCL_SIGNIN_FAILOPEN;
    }
    pcl_err_why(why, whylen, "%s", reason);
    audit_login(r, "failure", "device", reason, NULL);
    say(r, SAY_DOWN);
    return PCL_SIGNIN_DENIED;
}

/* With remember on and a key fingerprint: a remembered sign-in. */
static bool
remembered(struct run *r, char **ticket, char *why, size_t whylen)
{
    struct pcl_remember *st = NULL;
    struct pcl_ticket t;
    char w[256];
    bool ok = false;

    if (r->conf->oidc_remember == 0 || r->fp[0] == '\0') {
        return false;
    }
    if (pcl_remember_open(r->conf->oidc_remember_store, &st, w,
                          sizeof(w)) != PCL_OK) {
        error("remember store: %s", w);
        return false;
    }
    if (pcl_remember_get(st, r->rq->user, r->fp, time(NULL), &t) == PCL_OK &&
        strcmp(t.iss, r->conf->oidc_issuer) == 0 &&
        make_ticket(r, &t, "remember", ticket) == PCL_OK) {
        char sub[128];

        /* sub comes from the IdP: no control character reaches the log. */
        pcl_err_why(why, whylen, "remembered sign-in of %s with key %s",
                    pcl_log_sanitize(sub, sizeof(sub), t.sub), r->fp);
        audit_login(r, "success", "remember", "remembered sign-in", &t);
        ok = true;
    }
    pcl_remember_close(st);
    return ok;
}

static void
remember_store(struct run *r, const struct pcl_ticket *t)
{
    struct pcl_remember *st = NULL;
    char w[256];
    char until[32];
    time_t end = time(NULL) + (time_t)r->conf->oidc_remember;
    int rc;

    if (r->conf->oidc_remember == 0 || r->fp[0] == '\0') {
        return;
    }
    rc = pcl_remember_open(r->conf->oidc_remember_store, &st, w, sizeof(w));
    if (rc == PCL_OK) {
        rc = pcl_remember_put(st, t, end);
        snprintf(w, sizeof(w), "cannot write the store");
    }
    pcl_remember_close(st);
    snprintf(until, sizeof(until), "%lld", (long long)end);
    {
        const struct pcl_audit_field f[] = {
            { "user", r->rq->user },
            { "fingerprint", r->fp },
            { "subject", t->sub },
            { "until", rc == PCL_OK ? until : NULL },
            { "result", rc == PCL_OK ? "success" : "failure" },
            { "reason", rc == PCL_OK ? NULL : w },
        };
        (void)pcl_audit_emit(r->audit, "oidc-remember", f,
                             sizeof(f) / sizeof(f[0]));
    }
}

/* After the device flow: the ID token becomes a ticket, or a refusal. */
static enum pcl_signin_outcome
accept_token(struct run *r, const struct pcl_oidc_discovery *d,
             const char *id_token, char **ticket, char *why, size_t whylen)
{
    struct pcl_jwt_rules rules = {
        r->conf->oidc_issuer, r->conf->oidc_client_id, r->algs,
        r->conf->oidc_leeway, r->conf->oidc_max_age, time(NULL),
    };
    struct pcl_oidc_usermap map = {
        r->conf->oidc_username_claim, r->conf->oidc_email_domain,
        r->conf->oidc_user_map,
    };
    struct pcl_jwt *jwt = NULL;
    struct pcl_ticket t;
    char sub[128];
    char w[512];
    int rc;

    memset(&t, 0, sizeof(t));
    rc = pcl_oidc_validate(&r->p, d, id_token, &rules, &jwt, w, sizeof(w));
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "ID token refused: %s", w);
        goto refuse;
    }
    /* Who approved comes first, so that a refusal records it too. */
    rc = identity_of(r, jwt, &t, w, sizeof(w));
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "%s", w);
        goto refuse;
    }
    rc = pcl_oidc_map_user(jwt, &map, r->rq->user, w, sizeof(w));
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "%s", w);
        goto refuse;
    }
    rc = make_ticket(r, &t, "device", ticket);
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "cannot make the ticket: %s",
                    pcl_err_str(rc));
        goto refuse;
    }
    pcl_jwt_free(jwt);
    pcl_err_why(why, whylen, "signed in as %s (sub %s)", r->rq->user,
                pcl_log_sanitize(sub, sizeof(sub), t.sub));
    audit_login(r, "success", "device", "device flow approved", &t);
    remember_store(r, &t);
    return PCL_SIGNIN_OK;
refuse:
    audit_login(r, "failure", "device", why, t.sub[0] != '\0' ? &t : NULL);
    pcl_jwt_free(jwt);
    say(r, SAY_REFUSED);
    return PCL_SIGNIN_DENIED;
}

static enum pcl_signin_outcome
device_flow(struct run *r, char **ticket, char *why, size_t whylen)
{
    struct pcl_oidc_discovery d;
    struct pcl_oidc_device dev;
    enum pcl_signin_outcome out = PCL_SIGNIN_DENIED;
    enum pcl_oidc_result res;
    char text[PROMPT_MAX];
    char w[512];
    char *answer = NULL;
    char *id_token = NULL;
    unsigned npolls = 0;
    time_t issued;
    int rc;

    memset(&dev, 0, sizeof(dev));
    rc = pcl_oidc_discover(&r->p, &d, w, sizeof(w));
    if (rc == PCL_ERR_CONNECT) {
        return unreachable(r, w, why, whylen);
    }
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "discovery: %s", w);
        audit_login(r, "failure", "device", why, NULL);
        say(r, SAY_DOWN);
        return PCL_SIGNIN_DENIED;
    }
    rc = pcl_oidc_device_authorize(&r->p, &d, &dev, w, sizeof(w));
    issued = mono_now();
    if (rc == PCL_ERR_CONNECT) {
        out = unreachable(r, w, why, whylen);
        goto out;
    }
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "device authorization: %s", w);
        audit_login(r, "failure", "device", why, NULL);
        say(r, SAY_DOWN);
        goto out;
    }
    device_text(text, sizeof(text), dev.verification_uri,
                dev.verification_uri_complete, dev.user_code,
                r->conf->oidc_qr);
    pad_until(r, PCL_SIGNIN_PAD_MS);
    if (r->rq->prompt(r->rq->prompt_ctx, text, QUESTION, &answer) != 0) {
        pcl_err_why(why, whylen, "the client went away");
        audit_login(r, "failure", "device", why, NULL);
        goto out;
    }
    free(answer);
    res = pcl_oidc_poll(&r->p, &d, &dev, issued,
                        r->start + (time_t)r->conf->oidc_login_timeout,
                        &id_token, &npolls, w, sizeof(w));
    switch (res) {
    case PCL_OIDC_APPROVED:
        out = accept_token(r, &d, id_token, ticket, why, whylen);
        break;
    case PCL_OIDC_UNREACHABLE:
        out = unreachable(r, w, why, whylen);
        break;
    case PCL_OIDC_DENIED:
        pcl_err_why(why, whylen, "denied at the identity provider (%s)", w);
        audit_login(r, "failure", "device", why, NULL);
        say(r, SAY_DENIED);
        break;
    case PCL_OIDC_EXPIRED:
    case PCL_OIDC_TIMEOUT:
        /* The poller stops an interval early; wait out the deadline as
         * the look-alike flow of a user who does not exist does. */
        if (res == PCL_OIDC_TIMEOUT) {
            pad_until(r, r->conf->oidc_login_timeout * 1000u);
        }
        pcl_err_why(why, whylen, "%s", w);
        audit_login(r, "failure", "device", why, NULL);
        say(r, SAY_EXPIRED);
        break;
    case PCL_OIDC_ERROR:
        pcl_err_why(why, whylen, "token endpoint: %s", w);
        audit_login(r, "failure", "device", why, NULL);
        say(r, SAY_REFUSED);
        break;
    }
out:
    if (id_token != NULL) {
        explicit_bzero(id_token, strlen(id_token));
        free(id_token);
    }
    pcl_oidc_device_clear(&dev);
    pcl_oidc_discovery_clear(&d);
    return out;
}

enum pcl_signin_outcome
pcl_signin_run(const struct pcl_conf *conf,
               const struct pcl_signin_request *rq, struct pcl_audit *audit,
               char **ticket, char *why, size_t whylen)
{
    struct run r;
    enum pcl_signin_outcome out;
    int rc;

    *ticket = NULL;
    memset(&r, 0, sizeof(r));
    clock_gettime(CLOCK_MONOTONIC, &r.start_ts);
    r.start = r.start_ts.tv_sec;
    r.conf = conf;
    r.rq = rq;
    r.audit = audit;
    rc = load_secrets(&r, why, whylen);
    if (rc != PCL_OK) {
        audit_login(&r, "failure", "device", why, NULL);
        out = PCL_SIGNIN_CONFIG;
        goto out;
    }
    r.p.issuer = conf->oidc_issuer;
    r.p.client_id = conf->oidc_client_id;
    r.p.client_secret = (const char *)r.secret;
    r.p.scopes = conf->oidc_scopes;
    r.p.audience = conf->oidc_audience;
    r.p.http.ca_file = conf->oidc_ca_file;
    r.p.http.timeout_s = conf->oidc_timeout;
    r.p.http.max_bytes = PCL_OIDC_MAX_RESPONSE;
    r.p.default_interval_s = conf->oidc_interval;
    r.p.state_dir = conf->oidc_state_dir;
    r.p.jwks_cooldown_s = conf->oidc_jwks_cooldown;
    if (rq->auth_info != NULL) {
        (void)pcl_ticket_fingerprint(rq->auth_info, r.fp, sizeof(r.fp));
    }
    if (!rq->user_exists) {
        out = look_alike(&r, why, whylen);
        goto out;
    }
    if (remembered(&r, ticket, why, whylen)) {
        out = PCL_SIGNIN_OK;
        goto out;
    }
    out = device_flow(&r, ticket, why, whylen);
out:
    pcl_file_secret_free(r.tkey, r.tkeylen);
    pcl_file_secret_free(r.secret, r.secretlen);
    return out;
}
