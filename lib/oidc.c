/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/oidc.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/log.h"

#define GRANT_DEVICE_CODE "urn:ietf:params:oauth:grant-type:device_code"
#define MAX_EXPIRES_IN 3600 /* seconds; longer answers are capped */
#define MAX_INTERVAL 60

/* ------------------------------------------------------------ helpers */

static time_t
mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Parses a whole response body as a JSON object, or NULL. */
static json_object *
parse_body(const struct pcl_http_response *r)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *o = NULL;

    if (tok == NULL) {
        return NULL;
    }
    if (memchr(r->body, '\0', r->len) == NULL) {
        o = json_tokener_parse_ex(tok, r->body, (int)r->len);
    }
    if (o != NULL && (json_tokener_get_parse_end(tok) != r->len ||
                      !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static const char *
get_str(json_object *o, const char *name)
{
    json_object *v;

    if (!json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

/* A positive integer member, or def when absent; -1 when malformed. */
static long
get_uint(json_object *o, const char *name, long def)
{
    json_object *v;
    int64_t n;

    if (!json_object_object_get_ex(o, name, &v)) {
        return def;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return -1;
    }
    n = json_object_get_int64(v);
    return n < 0 || n > 86400 ? -1 : (long)n;
}

/* strdup of an https URL member, or NULL (then *bad is set). */
static char *
dup_https(json_object *o, const char *name, bool *bad)
{
    const char *s = get_str(o, name);
    char *c;

    if (s == NULL || strncmp(s, "https://", 8) != 0) {
        *bad = true;
        return NULL;
    }
    c = strdup(s);
    if (c == NULL) {
        *bad = true;
    }
    return c;
}

/* The cache is used only in a directory of root's that nobody else may
 * write: what it holds decides which keys sign ID tokens. */
static bool
state_dir_ok(const struct pcl_oidc_params *p)
{
    char why[256];

    if (p->state_dir == NULL || p->state_dir[0] == '\0') {
        return false;
    }
    if (pcl_file_check_dir(p->state_dir, PCL_FILE_DIR, why, sizeof(why)) !=
        PCL_OK) {
        debug("oidc: no cache: %s", why);
        return false;
    }
    return true;
}

/* Reads state_dir/name (checked like a config file: root's, not writable
 * by others) into an owned buffer; *mtime gets its modification time. */
static int
cache_read(const struct pcl_oidc_params *p, const char *name, char **out,
           size_t *len, time_t *mtime)
{
    char path[4096];
    char why[256];
    struct stat st;
    FILE *fp = NULL;
    char *buf = NULL;
    size_t n;
    int rc;

    *out = NULL;
    if (!state_dir_ok(p)) {
        return PCL_ERR_NOTFOUND;
    }
    snprintf(path, sizeof(path), "%s/%s", p->state_dir, name);
    rc = pcl_file_open(path, PCL_FILE_CONFIG, &fp, why, sizeof(why));
    if (rc != PCL_OK) {
        return rc;
    }
    if (fstat(fileno(fp), &st) != 0 ||
        st.st_size > (off_t)PCL_OIDC_MAX_RESPONSE) {
        rc = PCL_ERR_TOOBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    n = fread(buf, 1, (size_t)st.st_size, fp);
    buf[n] = '\0';
    *out = buf; /* transfer ownership */
    *len = n;
    *mtime = st.st_mtime;
    rc = PCL_OK;
out:
    fclose(fp);
    return rc;
}

/* Replaces state_dir/name with data atomically (mode 0600). Failures are
 * logged and otherwise ignored: a cache is an optimisation. */
static void
cache_write(const struct pcl_oidc_params *p, const char *name,
            const char *data, size_t len)
{
    char path[4096];
    char tmp[4096];
    int fd;

    if (!state_dir_ok(p)) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", p->state_dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", p->state_dir, name);
    fd = mkstemp(tmp);
    if (fd < 0) {
        debug("oidc: cannot cache %s: %s", name, strerror(errno));
        return;
    }
    if (write(fd, data, len) != (ssize_t)len || fchmod(fd, 0600) != 0 ||
        fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        debug("oidc: cannot cache %s: %s", name, strerror(errno));
        if (fd >= 0) {
            (void)close(fd);
        }
        (void)unlink(tmp);
    }
}

/* ------------------------------------------------------------ discovery */

static int
discovery_parse(const struct pcl_oidc_params *p,
                const struct pcl_http_response *r,
                struct pcl_oidc_discovery *d, char *why, size_t whylen)
{
    json_object *o = parse_body(r);
    const char *iss;
    bool bad = false;
    int rc = PCL_ERR_SYNTAX;

    if (o == NULL) {
        pcl_err_why(why, whylen, "discovery document is not a JSON object");
        goto out;
    }
    iss = get_str(o, "issuer");
    if (iss == NULL || strcmp(iss, p->issuer) != 0) {
        /* OpenID Connect Discovery 4.3: must be identical. */
        pcl_err_why(why, whylen, "discovery issuer differs from the "
                    "configured issuer");
        goto out;
    }
    d->device_authorization_endpoint =
        dup_https(o, "device_authorization_endpoint", &bad);
    d->token_endpoint = dup_https(o, "token_endpoint", &bad);
    d->jwks_uri = dup_https(o, "jwks_uri", &bad);
    if (bad) {
        pcl_err_why(why, whylen, "discovery lacks an https "
                    "device_authorization_endpoint, token_endpoint or "
                    "jwks_uri");
        pcl_oidc_discovery_clear(d);
        goto out;
    }
    rc = PCL_OK;
out:
    json_object_put(o);
    return rc;
}

int
pcl_oidc_discover(const struct pcl_oidc_params *p,
                  struct pcl_oidc_discovery *d, char *why, size_t whylen)
{
    struct pcl_http_response r = { 0, NULL, 0 };
    char url[2048];
    time_t mtime = 0;
    size_t ilen = strlen(p->issuer);
    int rc;

    memset(d, 0, sizeof(*d));
    if (cache_read(p, "discovery.json", &r.body, &r.len, &mtime) ==
        PCL_OK) {
        time_t now = time(NULL);
        if (now >= mtime && now - mtime < PCL_OIDC_DISCOVERY_TTL &&
            discovery_parse(p, &r, d, why, whylen) == PCL_OK) {
            pcl_http_response_clear(&r);
            return PCL_OK;
        }
        pcl_http_response_clear(&r);
    }
    /* OpenID Connect Discovery 4: issuer without its trailing slash. */
    snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
             (int)(ilen > 0 && p->issuer[ilen - 1] == '/' ? ilen - 1 : ilen),
             p->issuer);
    rc = pcl_http_request(&p->http, url, NULL, NULL, NULL, &r, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    if (r.status != 200) {
        pcl_err_why(why, whylen, "discovery: HTTP status %ld", r.status);
        rc = PCL_ERR_SYNTAX;
        goto out;
    }
    rc = discovery_parse(p, &r, d, why, whylen);
    if (rc == PCL_OK) {
        cache_write(p, "discovery.json", r.body, r.len);
    }
out:
    pcl_http_response_clear(&r);
    return rc;
}

void
pcl_oidc_discovery_clear(struct pcl_oidc_discovery *d)
{
    free(d->device_authorization_endpoint);
    free(d->token_endpoint);
    free(d->jwks_uri);
    memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------ device */

/* Appends "&name=escaped(value)" to a form under construction. */
static int
form_add(char **form, const char *name, const char *value)
{
    char *e = pcl_http_escape(value);
    char *grown;
    size_t old = *form != NULL ? strlen(*form) : 0;
    size_t need;

    if (e == NULL) {
        return PCL_ERR_NOMEM;
    }
    need = old + strlen(name) + strlen(e) + 3;
    grown = malloc(need);
    if (grown == NULL) {
        explicit_bzero(e, strlen(e));
        free(e);
        return PCL_ERR_NOMEM;
    }
    snprintf(grown, need, "%s%s%s=%s", old > 0 ? *form : "",
             old > 0 ? "&" : "", name, e);
    if (*form != NULL) {
        explicit_bzero(*form, old);
        free(*form);
    }
    explicit_bzero(e, strlen(e));
    free(e);
    *form = grown;
    return PCL_OK;
}

static void
form_free(char *form)
{
    if (form != NULL) {
        explicit_bzero(form, strlen(form));
        free(form);
    }
}

/* A form with the client's id when it is public (RFC 8628 3.1); a
 * confidential client authenticates with HTTP basic instead. */
static int
form_client(const struct pcl_oidc_params *p, char **form)
{
    if (p->client_secret != NULL) {
        return PCL_OK;
    }
    return form_add(form, "client_id", p->client_id);
}

static void
remember_verification_uri(const struct pcl_oidc_params *p, const char *uri)
{
    cache_write(p, "verification_uri", uri, strlen(uri));
}

int
pcl_oidc_device_authorize(const struct pcl_oidc_params *p,
                          const struct pcl_oidc_discovery *d,
                          struct pcl_oidc_device *dev, char *why,
                          size_t whylen)
{
    struct pcl_http_response r = { 0, NULL, 0 };
    json_object *o = NULL;
    char *form = NULL;
    const char *s;
    bool bad = false;
    long expires_in, interval;
    int rc;

    memset(dev, 0, sizeof(*dev));
    rc = form_client(p, &form);
    if (rc == PCL_OK) {
        rc = form_add(&form, "scope", p->scopes);
    }
    if (rc == PCL_OK && p->audience != NULL && p->audience[0] != '\0') {
        rc = form_add(&form, "audience", p->audience);
    }
    if (rc != PCL_OK) {
        goto out;
    }
    rc = pcl_http_request(&p->http, d->device_authorization_endpoint, form,
                          p->client_secret != NULL ? p->client_id : NULL,
                          p->client_secret, &r, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    o = parse_body(&r);
    if (r.status != 200) {
        s = o != NULL ? get_str(o, "error") : NULL;
        char e[64];
        pcl_err_why(why, whylen, "device authorization refused: HTTP %ld "
                    "%s", r.status,
                    pcl_log_sanitize(e, sizeof(e), s != NULL ? s : ""));
        rc = PCL_ERR_DENIED;
        goto out;
    }
    rc = PCL_ERR_SYNTAX;
    if (o == NULL || get_str(o, "device_code") == NULL ||
        get_str(o, "user_code") == NULL) {
        pcl_err_why(why, whylen, "device authorization answer lacks "
                    "device_code or user_code");
        goto out;
    }
    expires_in = get_uint(o, "expires_in", -1);
    interval = get_uint(o, "interval", (long)p->default_interval_s);
    if (expires_in <= 0 || interval < 0) {
        pcl_err_why(why, whylen, "device authorization answer has a bad "
                    "expires_in or interval");
        goto out;
    }
    dev->device_code = strdup(get_str(o, "device_code"));
    dev->user_code = strdup(get_str(o, "user_code"));
    dev->verification_uri = dup_https(o, "verification_uri", &bad);
    if (get_str(o, "verification_uri_complete") != NULL) {
        dev->verification_uri_complete =
            dup_https(o, "verification_uri_complete", &bad);
    }
    if (bad || dev->device_code == NULL || dev->user_code == NULL) {
        pcl_err_why(why, whylen, "device authorization answer lacks an "
                    "https verification_uri");
        pcl_oidc_device_clear(dev);
        goto out;
    }
    dev->expires_in = expires_in > MAX_EXPIRES_IN ? MAX_EXPIRES_IN
                                                  : (unsigned)expires_in;
    /* An interval of 0 would hammer the IdP; over a minute would outlast
     * any login grace time. */
    dev->interval = interval < 1              ? 1
                    : interval > MAX_INTERVAL ? MAX_INTERVAL
                                              : (unsigned)interval;
    remember_verification_uri(p, dev->verification_uri);
    rc = PCL_OK;
out:
    json_object_put(o);
    form_free(form);
    pcl_http_response_clear(&r);
    return rc;
}

void
pcl_oidc_device_clear(struct pcl_oidc_device *dev)
{
    if (dev->device_code != NULL) {
        explicit_bzero(dev->device_code, strlen(dev->device_code));
    }
    free(dev->device_code);
    free(dev->user_code);
    free(dev->verification_uri);
    free(dev->verification_uri_complete);
    memset(dev, 0, sizeof(*dev));
}

/* One token request; returns the result, or -1 for "poll again". */
static int
poll_once(const struct pcl_oidc_params *p, const struct pcl_oidc_discovery *d,
          struct pcl_oidc_device *dev, char **id_token, char *why,
          size_t whylen)
{
    struct pcl_http_response r = { 0, NULL, 0 };
    json_object *o = NULL;
    char *form = NULL;
    const char *err;
    const char *tok;
    char clean[64];
    int res = PCL_OIDC_ERROR;
    int rc;

    rc = form_add(&form, "grant_type", GRANT_DEVICE_CODE);
    if (rc == PCL_OK) {
        rc = form_add(&form, "device_code", dev->device_code);
    }
    if (rc == PCL_OK) {
        rc = form_client(p, &form);
    }
    if (rc != PCL_OK) {
        pcl_err_why(why, whylen, "out of memory");
        goto out;
    }
    rc = pcl_http_request(&p->http, d->token_endpoint, form,
                          p->client_secret != NULL ? p->client_id : NULL,
                          p->client_secret, &r, why, whylen);
    if (rc == PCL_ERR_CONNECT) {
        res = PCL_OIDC_UNREACHABLE;
        goto out;
    }
    if (rc != PCL_OK) {
        goto out;
    }
    o = parse_body(&r);
    if (o == NULL) {
        pcl_err_why(why, whylen, "token endpoint: HTTP %ld, not JSON",
                    r.status);
        goto out;
    }
    if (r.status == 200) {
        tok = get_str(o, "id_token");
        if (tok == NULL) {
            pcl_err_why(why, whylen, "token response has no id_token "
                        "(scope openid missing?)");
            goto out;
        }
        *id_token = strdup(tok);
        res = *id_token != NULL ? PCL_OIDC_APPROVED : PCL_OIDC_ERROR;
        pcl_err_why(why, whylen, *id_token != NULL ? "approved"
                                                   : "out of memory");
        goto out;
    }
    err = get_str(o, "error");
    if (err == NULL) {
        pcl_err_why(why, whylen, "token endpoint: HTTP %ld without an "
                    "error code", r.status);
    } else if (strcmp(err, "authorization_pending") == 0) {
        res = -1;
    } else if (strcmp(err, "slow_down") == 0) {
        /* RFC 8628 3.5: for this and every later request. */
        dev->interval += PCL_OIDC_SLOW_DOWN_S;
        res = -1;
    } else if (strcmp(err, "access_denied") == 0) {
        res = PCL_OIDC_DENIED;
        pcl_err_why(why, whylen, "access_denied");
    } else if (strcmp(err, "expired_token") == 0) {
        res = PCL_OIDC_EXPIRED;
        pcl_err_why(why, whylen, "expired_token");
    } else {
        pcl_err_why(why, whylen, "token endpoint error %s",
                    pcl_log_sanitize(clean, sizeof(clean), err));
    }
out:
    json_object_put(o);
    form_free(form);
    pcl_http_response_clear(&r);
    return res;
}

enum pcl_oidc_result
pcl_oidc_poll(const struct pcl_oidc_params *p,
              const struct pcl_oidc_discovery *d, struct pcl_oidc_device *dev,
              time_t issued, time_t deadline, char **id_token,
              unsigned *npolls, char *why, size_t whylen)
{
    time_t expires = issued + (time_t)dev->expires_in;
    time_t next;
    int res;

    *id_token = NULL;
    *npolls = 0;
    for (;;) {
        (*npolls)++;
        res = poll_once(p, d, dev, id_token, why, whylen);
        if (res >= 0) {
            return (enum pcl_oidc_result)res;
        }
        next = mono_now() + (time_t)dev->interval;
        if (next >= expires) {
            pcl_err_why(why, whylen, "device code expired (expires_in) "
                        "before approval");
            return PCL_OIDC_EXPIRED;
        }
        if (next >= deadline) {
            pcl_err_why(why, whylen, "no approval before the login "
                        "deadline");
            return PCL_OIDC_TIMEOUT;
        }
        while (mono_now() < next) {
            struct timespec ts = { 0, 200 * 1000 * 1000 };
            (void)nanosleep(&ts, NULL);
        }
    }
}

/* ------------------------------------------------------------ JWKS */

static int
jwks_fetch(const struct pcl_oidc_params *p, const struct pcl_oidc_discovery *d,
           struct pcl_jwks **out, char *why, size_t whylen)
{
    struct pcl_http_response r = { 0, NULL, 0 };
    int rc;

    rc = pcl_http_request(&p->http, d->jwks_uri, NULL, NULL, NULL, &r, why,
                          whylen);
    if (rc != PCL_OK) {
        return rc == PCL_ERR_TOOBIG ? rc : PCL_ERR_CONNECT;
    }
    if (r.status != 200) {
        pcl_err_why(why, whylen, "jwks_uri: HTTP status %ld", r.status);
        rc = PCL_ERR_CONNECT;
        goto out;
    }
    rc = pcl_jwks_parse(r.body, r.len, out, why, whylen);
    if (rc == PCL_OK) {
        cache_write(p, "jwks.json", r.body, r.len);
    }
out:
    pcl_http_response_clear(&r);
    return rc;
}

int
pcl_oidc_validate(const struct pcl_oidc_params *p,
                  const struct pcl_oidc_discovery *d, const char *id_token,
                  const struct pcl_jwt_rules *rules, struct pcl_jwt **out,
                  char *why, size_t whylen)
{
    struct pcl_jwks *keys = NULL;
    char *cached = NULL;
    size_t clen = 0;
    time_t fetched = 0;
    time_t now = time(NULL);
    bool fresh = false;
    int rc;

    *out = NULL;
    /* A cached JWKS is trusted for PCL_OIDC_JWKS_TTL at most, so that a
     * key the IdP withdrew stops being accepted. */
    if (cache_read(p, "jwks.json", &cached, &clen, &fetched) == PCL_OK) {
        if (now >= fetched && now - fetched < PCL_OIDC_JWKS_TTL) {
            (void)pcl_jwks_parse(cached, clen, &keys, why, whylen);
        }
        free(cached);
    }
    if (keys == NULL) {
        rc = jwks_fetch(p, d, &keys, why, whylen);
        if (rc != PCL_OK) {
            return rc;
        }
        fresh = true;
        fetched = now;
    }
    rc = pcl_jwt_verify(id_token, keys, rules, out, why, whylen);
    /* An unknown kid: the IdP may have rotated its keys. Fetch again, but
     * never more often than the cooldown, so that tokens with made-up kids
     * cannot make us hammer the IdP. */
    if (rc == PCL_ERR_NOTFOUND && !fresh &&
        (now < fetched || now - fetched >= (time_t)p->jwks_cooldown_s ||
         p->state_dir == NULL)) {
        pcl_jwks_free(keys);
        keys = NULL;
        rc = jwks_fetch(p, d, &keys, why, whylen);
        if (rc == PCL_OK) {
            rc = pcl_jwt_verify(id_token, keys, rules, out, why, whylen);
        }
    }
    pcl_jwks_free(keys);
    return rc;
}

/* ------------------------------------------------------------ users */

bool
pcl_oidc_group_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (i >= PCL_OIDC_MAX_GROUP_LEN ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
              c == '@' || c == '+')) {
            return false;
        }
    }
    return i > 0;
}

/* True when the map file has the line "value user". */
static int
map_lookup(const char *file, const char *value, const char *user,
           bool *found, char *why, size_t whylen)
{
    FILE *fp = NULL;
    char line[1024];
    int rc;

    *found = false;
    rc = pcl_file_open(file, PCL_FILE_CONFIG, &fp, why, whylen);
    if (rc != PCL_OK) {
        return PCL_ERR_CONFIG;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *save = NULL;
        char *a = strtok_r(line, " \t\r\n", &save);
        char *b = a != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        if (a == NULL || a[0] == '#' || b == NULL) {
            continue;
        }
        if (strcmp(a, value) == 0 && strcmp(b, user) == 0) {
            *found = true;
            break;
        }
    }
    fclose(fp);
    return PCL_OK;
}

int
pcl_oidc_map_user(const struct pcl_jwt *t, const struct pcl_oidc_usermap *m,
                  const char *pam_user, char *why, size_t whylen)
{
    const char *v = pcl_jwt_claim_str(t, m->claim);
    char name[256];
    char clean[128];
    bool found = false;
    int rc;

    if (v == NULL || v[0] == '\0') {
        pcl_err_why(why, whylen, "the ID token has no %s claim", m->claim);
        return PCL_ERR_DENIED;
    }
    snprintf(name, sizeof(name), "%s", v);
    if (strcmp(m->claim, "email") == 0) {
        const char *at = strrchr(v, '@');
        bool verified = false;

        /* An unverified address is not an identity (OpenID Connect Core
         * 5.1, email_verified). */
        if (pcl_jwt_claim_bool(t, "email_verified", &verified) != PCL_OK ||
            !verified) {
            pcl_err_why(why, whylen, "email %s is not verified",
                        pcl_log_sanitize(clean, sizeof(clean), v));
            return PCL_ERR_DENIED;
        }
        if (m->email_domain != NULL && m->email_domain[0] != '\0') {
            if (at == NULL || strcasecmp(at + 1, m->email_domain) != 0) {
                pcl_err_why(why, whylen, "email %s is not in domain %s",
                            pcl_log_sanitize(clean, sizeof(clean), v),
                            m->email_domain);
                return PCL_ERR_DENIED;
            }
            snprintf(name, sizeof(name), "%.*s", (int)(at - v), v);
        }
    }
    if (strcmp(name, pam_user) == 0) {
        return PCL_OK;
    }
    if (m->map_file != NULL && m->map_file[0] != '\0') {
        rc = map_lookup(m->map_file, v, pam_user, &found, why, whylen);
        if (rc != PCL_OK) {
            return rc;
        }
        if (found) {
            return PCL_OK;
        }
    }
    pcl_err_why(why, whylen, "%s \"%s\" does not name this user", m->claim,
                pcl_log_sanitize(clean, sizeof(clean), v));
    return PCL_ERR_DENIED;
}

char *
pcl_oidc_cached_verification_uri(const struct pcl_oidc_params *p,
                                 const char *fallback)
{
    char *s = NULL;
    size_t len = 0;
    time_t mtime;

    if (cache_read(p, "verification_uri", &s, &len, &mtime) == PCL_OK) {
        if (strncmp(s, "https://", 8) == 0 && strchr(s, '\n') == NULL) {
            return s;
        }
        free(s);
    }
    return fallback != NULL ? strdup(fallback) : NULL;
}

void
pcl_oidc_fake_user_code(char *out, size_t outlen)
{
    /* RFC 8628 6.1: base-20 consonants, as oidc-provider and most IdPs. */
    static const char alphabet[] = "BCDFGHJKLMNPQRSTVWXZ";
    unsigned char r[8];
    size_t i;
    size_t o = 0;

    if (RAND_bytes(r, sizeof(r)) != 1) {
        memset(r, 0, sizeof(r));
    }
    for (i = 0; i < 8 && o + 1 < outlen; i++) {
        if (i == 4 && o + 2 < outlen) {
            out[o++] = '-';
        }
        out[o++] = alphabet[r[i] % 20];
    }
    out[o] = '\0';
}
