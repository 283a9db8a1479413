/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/conf.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/jwt.h"
#include "portcullis/parse.h"

enum kw_type {
    KW_PATH,     /* absolute path */
    KW_PATH_OPT, /* absolute path or "" (off) */
    KW_SECONDS,  /* duration in seconds: N, Ns, Nm, Nh */
    KW_UINT,
    KW_BOOL,
    KW_LOGLEVEL,
    KW_MILLIS,   /* duration in milliseconds: N (ms), Nms, Ns */
    KW_CHOICE,   /* one of kw->choices, '|'-separated */
    KW_STRING,   /* any text, "" allowed */
    KW_URL,      /* an https:// URL, or "" (off) */
    KW_ALGS,     /* JWS algorithm allow-list (pcl_jwt_parse_algs) */
};

/*
 * The keyword table: section, key, type, where the value lives and its
 * default. It drives parsing, defaults, -T and the man page test.
 */
struct kw {
    const char *section;
    const char *key;
    enum kw_type type;
    size_t offset;
    const char *def;
    unsigned min; /* KW_SECONDS, KW_UINT, KW_MILLIS: accepted range */
    unsigned max;
    const char *choices; /* KW_CHOICE */
};

#define OFF(f) offsetof(struct pcl_conf, f)
static const struct kw keywords[] = {
    { "proxy", "policy", KW_PATH, OFF(policy),
      SYSCONFDIR "/portcullis/policy.conf", 0, 0, NULL },
    { "proxy", "credentials", KW_PATH, OFF(credentials),
      SYSCONFDIR "/portcullis/keys", 0, 0, NULL },
    { "proxy", "connect-timeout", KW_SECONDS, OFF(connect_timeout), "10",
      1, 3600, NULL },
    /* Linux caps TCP_KEEPIDLE/TCP_KEEPINTVL at 32767 s and TCP_KEEPCNT at
     * 127: larger values would be refused by setsockopt(2) unnoticed. */
    { "proxy", "keepalive-interval", KW_SECONDS, OFF(keepalive_interval),
      "30", 0, 32767, NULL },
    { "proxy", "keepalive-count-max", KW_UINT, OFF(keepalive_count_max),
      "3", 1, 127, NULL },
    { "proxy", "log-level", KW_LOGLEVEL, OFF(log_level), "info", 0, 0,
      NULL },
    { "recording", "directory", KW_PATH, OFF(rec_directory),
      LOCALSTATEDIR "/log/portcullis/sessions", 0, 0, NULL },
    { "recording", "format", KW_CHOICE, OFF(rec_format), "asciicast-v2", 0,
      0, "asciicast-v2|asciicast-v3" },
    { "recording", "input", KW_BOOL, OFF(rec_input), "no", 0, 0, NULL },
    { "recording", "flush-interval", KW_MILLIS, OFF(rec_flush_interval_ms),
      "1s", 0, 60000, NULL },
    { "recording", "on-error", KW_CHOICE, OFF(rec_on_error), "terminate", 0,
      0, "terminate|continue" },
    { "recording", "mask-holdback", KW_MILLIS, OFF(rec_mask_holdback_ms),
      "50ms", 1, 5000, NULL },
    { "recording", "seal-key", KW_PATH, OFF(rec_seal_key),
      SYSCONFDIR "/portcullis/seal.key", 0, 0, NULL },
    { "recording", "index", KW_PATH_OPT, OFF(rec_index),
      LOCALSTATEDIR "/log/portcullis/sessions/index.sqlite", 0, 0, NULL },
    { "audit", "json-log", KW_PATH_OPT, OFF(json_log),
      LOCALSTATEDIR "/log/portcullis/audit.json", 0, 0, NULL },
    { "audit", "syslog", KW_BOOL, OFF(audit_syslog), "yes", 0, 0, NULL },
    { "audit", "kernel", KW_BOOL, OFF(audit_kernel), "yes", 0, 0, NULL },
    { "audit", "required", KW_BOOL, OFF(audit_required), "no", 0, 0, NULL },
    /* [vault]: where target credentials come from (lib/vault.c). */
    { "vault", "backend", KW_CHOICE, OFF(vault_backend), "file", 0, 0,
      "file|command|ssh-ca|keys" },
    { "vault", "directory", KW_PATH, OFF(vault_directory),
      LOCALSTATEDIR "/lib/portcullis/vault", 0, 0, NULL },
    { "vault", "master-key", KW_PATH, OFF(vault_master_key),
      SYSCONFDIR "/portcullis/vault.key", 0, 0, NULL },
    { "vault", "command", KW_STRING, OFF(vault_command), "", 0, 0, NULL },
    { "vault", "command-timeout", KW_MILLIS, OFF(vault_command_timeout_ms),
      "5s", 100, 60000, NULL },
    { "vault", "command-max-output", KW_UINT, OFF(vault_command_max_output),
      "16384", 1, 65536, NULL },
    { "vault", "certificate-validity", KW_SECONDS,
      OFF(vault_cert_validity), "5m", 10, 86400, NULL },
    { "vault", "certificate-backdate", KW_SECONDS, OFF(vault_cert_backdate),
      "30", 0, 3600, NULL },
    { "approval", "directory", KW_PATH, OFF(appr_directory),
      LOCALSTATEDIR "/lib/portcullis/approvals", 0, 0, NULL },
    { "approval", "approvals-required", KW_UINT, OFF(appr_required), "1",
      1, 16, NULL },
    { "approval", "grant-ttl", KW_SECONDS, OFF(appr_grant_ttl), "1h", 1,
      86400, NULL },
    { "approval", "request-timeout", KW_SECONDS, OFF(appr_request_timeout),
      "15m", 1, 86400, NULL },
    { "approval", "warn-before", KW_SECONDS, OFF(appr_warn_before), "5m", 0,
      3600, NULL },
    { "approval", "poll-interval", KW_MILLIS, OFF(appr_poll_interval_ms),
      "1s", 100, 10000, NULL },
    { "approval", "webhook", KW_URL, OFF(appr_webhook), "", 0, 0, NULL },
    { "approval", "webhook-format", KW_CHOICE, OFF(appr_webhook_format),
      "json", 0, 0, "json|slack" },
    { "approval", "webhook-timeout", KW_SECONDS, OFF(appr_webhook_timeout),
      "5", 1, 60, NULL },
    { "approval", "webhook-retries", KW_UINT, OFF(appr_webhook_retries),
      "2", 0, 5, NULL },
    { "approval", "webhook-ca", KW_PATH_OPT, OFF(appr_webhook_ca), "", 0, 0,
      NULL },
    { "oidc", "issuer", KW_URL, OFF(oidc_issuer), "", 0, 0, NULL },
    { "oidc", "client-id", KW_STRING, OFF(oidc_client_id), "", 0, 0, NULL },
    { "oidc", "client-secret-file", KW_PATH_OPT,
      OFF(oidc_client_secret_file), "", 0, 0, NULL },
    { "oidc", "scopes", KW_STRING, OFF(oidc_scopes),
      "openid profile email groups", 0, 0, NULL },
    { "oidc", "audience", KW_STRING, OFF(oidc_audience), "", 0, 0, NULL },
    { "oidc", "username-claim", KW_CHOICE, OFF(oidc_username_claim),
      "preferred_username", 0, 0, "preferred_username|email|sub" },
    { "oidc", "email-domain", KW_STRING, OFF(oidc_email_domain), "", 0, 0,
      NULL },
    { "oidc", "user-map", KW_PATH_OPT, OFF(oidc_user_map), "", 0, 0, NULL },
    { "oidc", "groups-claim", KW_STRING, OFF(oidc_groups_claim), "groups",
      0, 0, NULL },
    { "oidc", "ca-file", KW_PATH_OPT, OFF(oidc_ca_file), "", 0, 0, NULL },
    { "oidc", "algorithms", KW_ALGS, OFF(oidc_algorithms),
      "RS256, PS256, ES256, EdDSA", 0, 0, NULL },
    { "oidc", "failmode", KW_CHOICE, OFF(oidc_failmode), "secure", 0, 0,
      "secure|open" },
    { "oidc", "timeout", KW_SECONDS, OFF(oidc_timeout), "10", 1, 60, NULL },
    /* sshd's LoginGraceTime is 120 s by default: stay inside it. */
    { "oidc", "login-timeout", KW_SECONDS, OFF(oidc_login_timeout), "100",
      10, 3600, NULL },
    { "oidc", "interval", KW_SECONDS, OFF(oidc_interval), "5", 1, 60,
      NULL },
    { "oidc", "leeway", KW_SECONDS, OFF(oidc_leeway), "60", 0, 600, NULL },
    { "oidc", "max-age", KW_SECONDS, OFF(oidc_max_age), "10m", 0, 86400,
      NULL },
    { "oidc", "jwks-cooldown", KW_SECONDS, OFF(oidc_jwks_cooldown), "60",
      0, 3600, NULL },
    { "oidc", "state-dir", KW_PATH, OFF(oidc_state_dir),
      LOCALSTATEDIR "/lib/portcullis", 0, 0, NULL },
    { "oidc", "remember", KW_SECONDS, OFF(oidc_remember), "0", 0, 86400,
      NULL },
    { "oidc", "remember-store", KW_PATH, OFF(oidc_remember_store),
      LOCALSTATEDIR "/lib/portcullis/remember.sqlite", 0, 0, NULL },
    { "oidc", "ticket-key", KW_PATH, OFF(oidc_ticket_key),
      SYSCONFDIR "/portcullis/ticket.key", 0, 0, NULL },
    { "oidc", "ticket-lifetime", KW_SECONDS, OFF(oidc_ticket_lifetime),
      "1h", 10, 86400, NULL },
    { "oidc", "require-ticket", KW_BOOL, OFF(oidc_require_ticket), "no", 0,
      0, NULL },
    { "oidc", "qr", KW_BOOL, OFF(oidc_qr), "no", 0, 0, NULL },
};
#undef OFF
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static const char *const log_levels[] = {
    "error", "info", "verbose", "debug", "debug2", "debug3", NULL,
};

struct load_ctx {
    struct pcl_conf *conf;
    struct pcl_diag *diag;
    int seen[NKEYWORDS];
    int section_ok;
};

/* True when value is one of the '|'-separated choices. */
static bool
is_choice(const char *choices, const char *value)
{
    size_t vl = strlen(value);
    const char *p = choices;

    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t l = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, value, l) == 0) {
            return true;
        }
        p = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

/*
 * The numeric keyword types: parsed by their own parser, then checked
 * against the table's range, with the unit named in the diagnostic.
 */
static bool
set_number(const struct kw *kw, const char *value, unsigned *out,
           struct pcl_diag *diag, const char *file, int line)
{
    const char *unit = kw->type == KW_SECONDS  ? " s"
                       : kw->type == KW_MILLIS ? " ms"
                                               : "";
    const char *hint = kw->type == KW_SECONDS  ? " (use N, Ns, Nm or Nh)"
                       : kw->type == KW_MILLIS ? " (use N or Nms for "
                                                 "milliseconds, Ns for seconds)"
                                               : "";
    unsigned u;
    int rc;

    rc = kw->type == KW_SECONDS  ? pcl_parse_seconds(value, &u)
         : kw->type == KW_MILLIS ? pcl_parse_millis(value, &u)
                                 : pcl_parse_uint(value, 1000000, &u);
    if (rc != PCL_OK) {
        pcl_diag_add(diag, file, line, "%s: invalid %s \"%.64s\"%s", kw->key,
                     kw->type == KW_UINT ? "number" : "duration", value, hint);
        return false;
    }
    if (u < kw->min || u > kw->max) {
        pcl_diag_add(diag, file, line, "%s: %u%s is out of range (%u-%u%s)",
                     kw->key, u, unit, kw->min, kw->max, unit);
        return false;
    }
    *out = u;
    return true;
}

/* Replaces the string *sp with a copy of value. */
static bool
set_copy(char **sp, const char *value, struct pcl_diag *diag,
         const char *file, int line)
{
    free(*sp);
    *sp = strdup(value);
    if (*sp == NULL) {
        pcl_diag_add(diag, file, line, "out of memory");
        return false;
    }
    return true;
}

/* Stores value into the field of kw; returns false with a diagnostic. */
static bool
set_value(struct pcl_conf *c, const struct kw *kw, const char *value,
          struct pcl_diag *diag, const char *file, int line)
{
    char *base = (char *)c + kw->offset;
    bool b;
    size_t i;
    char **sp = (char **)(void *)base;

    switch (kw->type) {
    case KW_PATH:
    case KW_PATH_OPT:
        if (!(kw->type == KW_PATH_OPT && value[0] == '\0') &&
            value[0] != '/') {
            pcl_diag_add(diag, file, line, "%s: must be an absolute path",
                         kw->key);
            return false;
        }
        return set_copy(sp, value, diag, file, line);
    case KW_SECONDS:
    case KW_UINT:
    case KW_MILLIS:
        return set_number(kw, value, (unsigned *)(void *)base, diag, file,
                          line);
    case KW_CHOICE:
        if (!is_choice(kw->choices, value)) {
            pcl_diag_add(diag, file, line, "%s: \"%.64s\" is not one of %s",
                         kw->key, value, kw->choices);
            return false;
        }
        free(*sp);
        *sp = strdup(value);
        if (*sp == NULL) {
            pcl_diag_add(diag, file, line, "out of memory");
            return false;
        }
        return true;
    case KW_ALGS: {
        char why[160];
        unsigned mask;
        if (pcl_jwt_parse_algs(value, &mask, why, sizeof(why)) != PCL_OK) {
            pcl_diag_add(diag, file, line, "%s: %s", kw->key, why);
            return false;
        }
        return set_copy(sp, value, diag, file, line);
    }
    case KW_URL:
        /* HTTPS only (an IdP, a webhook carrying reasons and commands):
         * nothing crosses the network in clear text. No blanks or control
         * characters. */
        if (value[0] != '\0' &&
            (strncmp(value, "https://", 8) != 0 || value[8] == '\0' ||
             strpbrk(value, " \t\r\n\x7f") != NULL)) {
            pcl_diag_add(diag, file, line, "%s: must be an https:// URL "
                         "or empty", kw->key);
            return false;
        }
        for (i = 0; value[i] != '\0'; i++) {
            if ((unsigned char)value[i] < 0x20) {
                pcl_diag_add(diag, file, line, "%s: control character in "
                             "URL", kw->key);
                return false;
            }
        }
        return set_copy(sp, value, diag, file, line);
    case KW_STRING:
        return set_copy(sp, value, diag, file, line);
    case KW_BOOL:
        if (pcl_parse_bool(value, &b) != PCL_OK) {
            pcl_diag_add(diag, file, line, "%s: expected yes or no, not "
                         "\"%.64s\"", kw->key, value);
            return false;
        }
        *(bool *)(void *)base = b;
        return true;
    case KW_LOGLEVEL:
        for (i = 0; log_levels[i] != NULL; i++) {
            if (strcmp(value, log_levels[i]) == 0) {
                break;
            }
        }
        if (log_levels[i] == NULL) {
            pcl_diag_add(diag, file, line, "%s: unknown level \"%.64s\" "
                         "(error, info, verbose, debug, debug2, debug3)",
                         kw->key, value);
            return false;
        }
        free(*sp);
        *sp = strdup(value);
        if (*sp == NULL) {
            pcl_diag_add(diag, file, line, "out of memory");
            return false;
        }
        return true;
    }
    return false;
}

static bool
handler(void *vctx, const char *file, int line, const char *section,
        const char *key, const char *value)
{
    struct load_ctx *ctx = vctx;
    size_t i;
    bool known_section = false;

    for (i = 0; i < NKEYWORDS; i++) {
        if (strcmp(keywords[i].section, section) == 0) {
            known_section = true;
            break;
        }
    }
    if (key == NULL) {
        ctx->section_ok = known_section;
        if (!known_section) {
            pcl_diag_add(ctx->diag, file, line, "unknown section [%.64s]",
                         section);
            return false;
        }
        return true;
    }
    if (section[0] == '\0') {
        pcl_diag_add(ctx->diag, file, line, "\"%.64s\" outside of a section",
                     key);
        return false;
    }
    if (!ctx->section_ok) {
        return true; /* reported once, at the section header */
    }
    for (i = 0; i < NKEYWORDS; i++) {
        if (strcmp(keywords[i].section, section) == 0 &&
            strcmp(keywords[i].key, key) == 0) {
            break;
        }
    }
    if (i == NKEYWORDS) {
        pcl_diag_add(ctx->diag, file, line, "unknown key \"%.64s\" in "
                     "[%.64s]", key, section);
        return false;
    }
    if (ctx->seen[i]) {
        pcl_diag_add(ctx->diag, file, line, "%s: given twice (first on line "
                     "%d)", key, ctx->seen[i]);
        return false;
    }
    ctx->seen[i] = line;
    return set_value(ctx->conf, &keywords[i], value, ctx->diag, file, line);
}

int
pcl_conf_load(const char *path, struct pcl_diag *diag, struct pcl_conf **out)
{
    struct load_ctx ctx;
    struct pcl_conf *c = NULL;
    FILE *fp = NULL;
    char why[512];
    size_t i;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pcl_diag_add(diag, path, 0, "out of memory");
        return PCL_ERR_NOMEM;
    }
    for (i = 0; i < NKEYWORDS; i++) {
        if (!set_value(c, &keywords[i], keywords[i].def, diag, path, 0)) {
            rc = PCL_ERR_NOMEM;
            goto out;
        }
    }
    rc = pcl_file_open(path, PCL_FILE_CONFIG, &fp, why, sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, why, 0, "%s", pcl_err_str(rc));
        goto out;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.conf = c;
    ctx.diag = diag;
    ctx.section_ok = 1;
    rc = pcl_ini_parse(path, fp, handler, &ctx, diag);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = c; /* transfer ownership */
    c = NULL;
out:
    if (fp != NULL) {
        fclose(fp);
    }
    pcl_conf_free(c);
    return rc;
}

void
pcl_conf_free(struct pcl_conf *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < NKEYWORDS; i++) {
        switch (keywords[i].type) {
        case KW_PATH:
        case KW_PATH_OPT:
        case KW_LOGLEVEL:
        case KW_CHOICE:
        case KW_STRING:
        case KW_URL:
        case KW_ALGS:
            free(*(char **)(void *)((char *)c + keywords[i].offset));
            break;
        default:
            break;
        }
    }
    free(c);
}

void
pcl_conf_dump(const struct pcl_conf *c, FILE *fp)
{
    size_t i;
    const char *base = (const char *)c;

    for (i = 0; i < NKEYWORDS; i++) {
        const struct kw *kw = &keywords[i];
        fprintf(fp, "%s.%s = ", kw->section, kw->key);
        switch (kw->type) {
        case KW_PATH:
        case KW_PATH_OPT:
        case KW_LOGLEVEL:
        case KW_CHOICE:
        case KW_STRING:
        case KW_URL:
        case KW_ALGS:
            fprintf(fp, "%s\n",
                    *(char *const *)(const void *)(base + kw->offset));
            break;
        case KW_SECONDS:
        case KW_UINT:
            fprintf(fp, "%u\n",
                    *(const unsigned *)(const void *)(base + kw->offset));
            break;
        case KW_MILLIS:
            fprintf(fp, "%ums\n",
                    *(const unsigned *)(const void *)(base + kw->offset));
            break;
        case KW_BOOL:
            fprintf(fp, "%s\n",
                    *(const bool *)(const void *)(base + kw->offset) ? "yes"
                                                                     : "no");
            break;
        }
    }
}

void
pcl_conf_foreach_key(void (*fn)(const char *section, const char *key,
                                void *ctx),
                     void *ctx)
{
    size_t i;

    for (i = 0; i < NKEYWORDS; i++) {
        fn(keywords[i].section, keywords[i].key, ctx);
    }
}
