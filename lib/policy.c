/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/policy.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/cmdline.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/parse.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/*
 * Built-in algorithm lists for the target leg when neither [defaults] nor a
 * target names any: modern AEAD ciphers, ETM MACs, no SHA-1, no CBC.
 */
#define DEFAULT_KEX "curve25519-sha256,curve25519-sha256@libssh.org," \
    "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
    "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512"
#define DEFAULT_CIPHERS "chacha20-poly1305@openssh.com," \
    "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr"
#define DEFAULT_MACS "hmac-sha2-256-etm@openssh.com," \
    "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"
#define DEFAULT_HOSTKEY_ALGORITHMS "ssh-ed25519,ecdsa-sha2-nistp256," \
    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"

enum allow_kind {
    ALLOW_USER,
    ALLOW_GROUP,
};

struct allow_entry {
    bool negate;
    enum allow_kind kind;
    char *pattern;
    int line;
};

/* Algorithm lists in the order of the keyword table below. */
enum algo {
    ALGO_KEX,
    ALGO_CIPHERS,
    ALGO_MACS,
    ALGO_HOSTKEY,
    ALGO_COUNT,
};

static const char *const algo_keys[ALGO_COUNT] = {
    "kex", "ciphers", "macs", "host-key-algorithms",
};

static const char *const algo_defaults[ALGO_COUNT] = {
    DEFAULT_KEX, DEFAULT_CIPHERS, DEFAULT_MACS, DEFAULT_HOSTKEY_ALGORITHMS,
};

/* An approval-command rule: commands it matches need approval. */
struct approval_command {
    char *pattern;
    pcre2_code *re;
    int line;
};

struct mask_rule {
    char *name;
    char *pattern;
    char *replace;
    int line;
    int seen_pattern;
    int seen_replace;
};

struct pcl_target {
    char *name;
    int line;
    char *description;
    char *host;
    unsigned port;
    bool port_set;
    char **accounts;
    size_t naccounts;
    char *credential;
    char **host_keys;
    size_t nhost_keys;
    struct allow_entry *allow;
    size_t nallow;
    char *algos[ALGO_COUNT];
    unsigned connect_timeout; /* seconds; 0: portcullis.conf's */
    char **masks;
    size_t nmasks;
    int masks_line;
    int seen_line[32];
    /* Just-in-time approval (portcullis-policy(5), APPROVAL). */
    struct allow_entry *approvers;  /* approval = user:/group: list */
    size_t napprovers;
    int approval_line;
    unsigned approvals_required;    /* 0: portcullis.conf's */
    unsigned grant_ttl;             /* seconds; 0: portcullis.conf's */
    unsigned request_timeout;       /* seconds; 0: portcullis.conf's */
    char **approval_accounts;       /* globs; NULL: every account */
    size_t napproval_accounts;
    int approval_accounts_line;
    struct approval_command *approval_commands;
    size_t napproval_commands;
    int mask_live;            /* 1 on, 0 off, -1 [defaults]'s */
};

/* [role NAME]: who (members, as allow entries) may use which built-in
 * verbs of the proxy (may, a bit set of role_verbs). */
struct role {
    char *name;
    int line;
    struct allow_entry *members;
    size_t nmembers;
    unsigned may;
    int seen_members;
    int seen_may;
};

/* Verbs a role may grant; the bit of each is its index. */
static const char *const role_verbs[] = {
    "replay", "sessions", NULL,
};

struct pcl_policy {
    struct role *roles;
    size_t nroles;
    char *path;
    struct pcl_target **targets;
    size_t ntargets;
    unsigned default_port;
    unsigned default_connect_timeout;
    struct mask_rule *masks;
    size_t nmasks;
    char *default_algos[ALGO_COUNT];
    bool default_mask_live;
};

/* Keys of each section; the man page test walks these tables. */
static const char *const target_keys[] = {
    "description", "host", "port", "accounts", "credential", "host-key",
    "allow", "kex", "ciphers", "macs", "host-key-algorithms",
    "connect-timeout", "mask", "mask-live",
    "approval", "approvals-required", "grant-ttl", "request-timeout",
    "approval-accounts", "approval-command", NULL,
};
static const char *const mask_keys[] = {
    "pattern", "replace", NULL,
};
static const char *const role_keys[] = {
    "members", "may", NULL,
};
static const char *const default_keys[] = {
    "port", "kex", "ciphers", "macs", "host-key-algorithms",
    "connect-timeout", "mask-live", NULL,
};

static void
target_free(struct pcl_target *t)
{
    size_t i;

    if (t == NULL) {
        return;
    }
    free(t->name);
    free(t->description);
    free(t->host);
    for (i = 0; i < t->naccounts; i++) {
        free(t->accounts[i]);
    }
    free(t->accounts);
    free(t->credential);
    for (i = 0; i < t->nhost_keys; i++) {
        free(t->host_keys[i]);
    }
    free(t->host_keys);
    for (i = 0; i < t->nallow; i++) {
        free(t->allow[i].pattern);
    }
    free(t->allow);
    for (i = 0; i < ALGO_COUNT; i++) {
        free(t->algos[i]);
    }
    for (i = 0; i < t->nmasks; i++) {
        free(t->masks[i]);
    }
    free(t->masks);
    for (i = 0; i < t->napprovers; i++) {
        free(t->approvers[i].pattern);
    }
    free(t->approvers);
    for (i = 0; i < t->napproval_accounts; i++) {
        free(t->approval_accounts[i]);
    }
    free(t->approval_accounts);
    for (i = 0; i < t->napproval_commands; i++) {
        free(t->approval_commands[i].pattern);
        pcre2_code_free(t->approval_commands[i].re);
    }
    free(t->approval_commands);
    free(t);
}

void
pcl_policy_free(struct pcl_policy *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->ntargets; i++) {
        target_free(p->targets[i]);
    }
    free(p->targets);
    for (i = 0; i < ALGO_COUNT; i++) {
        free(p->default_algos[i]);
    }
    for (i = 0; i < p->nmasks; i++) {
        free(p->masks[i].name);
        free(p->masks[i].pattern);
        free(p->masks[i].replace);
    }
    free(p->masks);
    for (i = 0; i < p->nroles; i++) {
        size_t k;
        for (k = 0; k < p->roles[i].nmembers; k++) {
            free(p->roles[i].members[k].pattern);
        }
        free(p->roles[i].members);
        free(p->roles[i].name);
    }
    free(p->roles);
    free(p->path);
    free(p);
}

struct load_ctx {
    struct pcl_policy *p;
    const struct pcl_policy_checks *checks;
    struct pcl_diag *diag;
    const char *file;
    int line;
    enum { SEC_NONE, SEC_DEFAULTS, SEC_TARGET, SEC_MASK, SEC_ROLE,
           SEC_BAD } sec;
    struct pcl_target *cur;
    struct mask_rule *cur_mask;
    struct role *cur_role;
    int defaults_seen[8];
    bool nomem;
    const char *list_key;  /* "allow" or "approval": where add_allow adds */
};

static int
key_index(const char *const *keys, const char *key)
{
    int i;

    for (i = 0; keys[i] != NULL; i++) {
        if (strcmp(keys[i], key) == 0) {
            return i;
        }
    }
    return -1;
}

static int
algo_index(const char *key)
{
    int i;

    for (i = 0; i < ALGO_COUNT; i++) {
        if (strcmp(algo_keys[i], key) == 0) {
            return i;
        }
    }
    return -1;
}

/* Appends s (copied) to a string vector. */
static int
vec_push(char ***vec, size_t *n, const char *s)
{
    char **nv;
    char *copy = strdup(s);

    if (copy == NULL) {
        return PCL_ERR_NOMEM;
    }
    nv = realloc(*vec, (*n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(copy);
        return PCL_ERR_NOMEM;
    }
    nv[*n] = copy;
    *vec = nv;
    (*n)++;
    return PCL_OK;
}

/* Algorithm names as OpenSSH spells them: lower case, digits, "-@._". */
static int
check_algo_name(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    size_t i;

    if (item[0] == '\0') {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "empty name in algorithm list");
        return 1;
    }
    for (i = 0; item[i] != '\0'; i++) {
        char c = item[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '@' || c == '.' || c == '_')) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "invalid algorithm name \"%.64s\"", item);
            return 1;
        }
    }
    return 0;
}

/* Joins a comma list without blanks, the form libssh takes. */
static char *
algo_join(const char *value)
{
    char *out = malloc(strlen(value) + 1);
    size_t j = 0;
    size_t i;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; value[i] != '\0'; i++) {
        if (value[i] != ' ' && value[i] != '\t') {
            out[j++] = value[i];
        }
    }
    out[j] = '\0';
    return out;
}

static bool
set_algos(struct load_ctx *ctx, char **slot, const char *key,
          const char *value)
{
    char why[256];

    if (pcl_parse_list(value, check_algo_name, ctx) != 0) {
        return false;
    }
    free(*slot);
    *slot = algo_join(value);
    if (*slot == NULL) {
        ctx->nomem = true;
        return false;
    }
    if (ctx->checks != NULL && ctx->checks->algorithms != NULL &&
        ctx->checks->algorithms(key, *slot, why, sizeof(why)) != 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line, "%s: %s", key, why);
        return false;
    }
    return true;
}

static int
add_account(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    struct pcl_target *t = ctx->cur;
    size_t i;

    if (strcmp(item, "%u") != 0 && !pcl_cmdline_is_account_name(item)) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "accounts: invalid account name \"%.64s\"", item);
        return 1;
    }
    for (i = 0; i < t->naccounts; i++) {
        if (strcmp(t->accounts[i], item) == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "accounts: \"%.64s\" listed twice", item);
            return 1;
        }
    }
    if (vec_push(&t->accounts, &t->naccounts, item) != PCL_OK) {
        ctx->nomem = true;
        return 1;
    }
    return 0;
}

/* Parses "[!]user:GLOB" or "[!]group:GLOB" (key names the list in
 * messages) and appends it to *list. Returns 0, or 1 after a diagnostic. */
static int
push_entry(struct load_ctx *ctx, const char *key, const char *item,
           struct allow_entry **list, size_t *n)
{
    struct allow_entry e;
    struct allow_entry *na;
    const char *p = item;

    memset(&e, 0, sizeof(e));
    if (*p == '!') {
        e.negate = true;
        p++;
    }
    if (strncmp(p, "user:", 5) == 0) {
        e.kind = ALLOW_USER;
        p += 5;
    } else if (strncmp(p, "group:", 6) == 0) {
        e.kind = ALLOW_GROUP;
        p += 6;
    } else {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "%s: \"%.64s\" is not user:PATTERN or group:PATTERN",
                     key, item);
        return 1;
    }
    if (*p == '\0') {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "%s: empty pattern in \"%.64s\"", key, item);
        return 1;
    }
    e.pattern = strdup(p);
    e.line = ctx->line;
    if (e.pattern == NULL) {
        ctx->nomem = true;
        return 1;
    }
    na = realloc(*list, (*n + 1) * sizeof(*na));
    if (na == NULL) {
        free(e.pattern);
        ctx->nomem = true;
        return 1;
    }
    na[(*n)++] = e;
    *list = na;
    return 0;
}

static int
add_allow(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    struct pcl_target *t = ctx->cur;

    if (strcmp(ctx->list_key, "approval") == 0) {
        return push_entry(ctx, "approval", item, &t->approvers,
                          &t->napprovers);
    }
    return push_entry(ctx, "allow", item, &t->allow, &t->nallow);
}

static int
add_member(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;

    return push_entry(ctx, "members", item, &ctx->cur_role->members,
                      &ctx->cur_role->nmembers);
}

static int
add_may(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    int i = key_index(role_verbs, item);

    if (i < 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "may: unknown command \"%.64s\" (replay, sessions)",
                     item);
        return 1;
    }
    ctx->cur_role->may |= 1u << i;
    return 0;
}

static bool
role_key(struct load_ctx *ctx, const char *key, const char *value)
{
    struct role *r = ctx->cur_role;
    int *seen;

    if (key_index(role_keys, key) < 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "unknown key \"%.64s\" in [role %s]", key, r->name);
        return false;
    }
    seen = strcmp(key, "members") == 0 ? &r->seen_members : &r->seen_may;
    if (*seen != 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "%s: given twice (first on line %d)", key, *seen);
        return false;
    }
    *seen = ctx->line;
    return pcl_parse_list(value, strcmp(key, "members") == 0 ? add_member
                                                              : add_may,
                          ctx) == 0;
}

static bool
new_role_section(struct load_ctx *ctx, const char *name)
{
    struct pcl_policy *p = ctx->p;
    struct role *nr;
    size_t i;

    name += strspn(name, " \t");
    if (!pcl_cmdline_is_target_name(name)) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "invalid role name \"%.64s\"", name);
        return false;
    }
    for (i = 0; i < p->nroles; i++) {
        if (strcmp(p->roles[i].name, name) == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "role \"%s\" defined twice (first on line %d)",
                         name, p->roles[i].line);
            return false;
        }
    }
    nr = realloc(p->roles, (p->nroles + 1) * sizeof(*nr));
    if (nr == NULL) {
        ctx->nomem = true;
        return false;
    }
    p->roles = nr;
    memset(&nr[p->nroles], 0, sizeof(nr[0]));
    nr[p->nroles].name = strdup(name);
    nr[p->nroles].line = ctx->line;
    if (nr[p->nroles].name == NULL) {
        ctx->nomem = true;
        return false;
    }
    ctx->cur_role = &nr[p->nroles];
    p->nroles++;
    ctx->sec = SEC_ROLE;
    return true;
}

static int
add_mask_name(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    struct pcl_target *t = ctx->cur;

    if (!pcl_cmdline_is_target_name(item)) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "mask: invalid rule set name \"%.64s\"", item);
        return 1;
    }
    if (vec_push(&t->masks, &t->nmasks, item) != PCL_OK) {
        ctx->nomem = true;
        return 1;
    }
    return 0;
}

/* A credential template yields a file name: no '/', no leading '.'. */
static bool
check_credential(struct load_ctx *ctx, const char *value)
{
    size_t i;

    if (value[0] == '\0' || value[0] == '.') {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "credential: must be a file name not starting with '.'");
        return false;
    }
    for (i = 0; value[i] != '\0'; i++) {
        char c = value[i];
        if (c == '%') {
            char n = value[i + 1];
            if (n != 't' && n != 'a' && n != '%') {
                pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                             "credential: unknown token %%%c (%%t, %%a, %%%%)",
                             n == '\0' ? ' ' : n);
                return false;
            }
            i++;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "credential: invalid character '%c' (file names "
                         "use letters, digits, '.', '_', '-')", c);
            return false;
        }
    }
    return true;
}

static bool
check_host_key(struct load_ctx *ctx, const char *value)
{
    char why[256];
    size_t i;

    if (strncmp(value, "SHA256:", 7) == 0) {
        /* 32 bytes in unpadded base64 are 43 characters. */
        const char *b = value + 7;
        for (i = 0; b[i] != '\0'; i++) {
            char c = b[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '+' || c == '/')) {
                break;
            }
        }
        if (i != 43 || b[i] != '\0') {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "host-key: a SHA256 fingerprint is \"SHA256:\" and "
                         "43 base64 characters, as ssh-keygen -l prints");
            return false;
        }
        return true;
    }
    if (ctx->checks != NULL && ctx->checks->host_key != NULL &&
        ctx->checks->host_key(value, why, sizeof(why)) != 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line, "host-key: %s", why);
        return false;
    }
    if (ctx->checks == NULL && strchr(value, ' ') == NULL) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "host-key: expected \"TYPE BASE64\" or \"SHA256:...\"");
        return false;
    }
    return true;
}

static bool
parse_timeout(struct load_ctx *ctx, const char *value, unsigned *out)
{
    unsigned u;

    if (pcl_parse_seconds(value, &u) != PCL_OK || u == 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "connect-timeout: invalid duration \"%.64s\" (use N, "
                     "Ns, Nm or Nh, more than 0)", value);
        return false;
    }
    *out = u;
    return true;
}

static int
add_approval_account(const char *item, void *vctx)
{
    struct load_ctx *ctx = vctx;
    struct pcl_target *t = ctx->cur;

    if (item[0] == '\0' || strpbrk(item, " \t") != NULL) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "approval-accounts: invalid pattern \"%.64s\"", item);
        return 1;
    }
    if (vec_push(&t->approval_accounts, &t->napproval_accounts, item) !=
        PCL_OK) {
        ctx->nomem = true;
        return 1;
    }
    return 0;
}

/* One approval-command pattern: PCRE2, compiled now so that a bad one is
 * an error at its line, matched unanchored against the exec command. */
static bool
add_approval_command(struct load_ctx *ctx, const char *value)
{
    struct pcl_target *t = ctx->cur;
    struct approval_command *na;
    pcre2_code *re;
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off;
    int err;

    if (value[0] == '\0') {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "approval-command: empty pattern");
        return false;
    }
    re = pcre2_compile((PCRE2_SPTR)value, PCRE2_ZERO_TERMINATED,
                       PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
    if (re == NULL) {
        (void)pcre2_get_error_message(err, msg, sizeof(msg));
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "approval-command: %s at offset %zu", (char *)msg,
                     (size_t)off);
        return false;
    }
    na = realloc(t->approval_commands,
                 (t->napproval_commands + 1) * sizeof(*na));
    if (na == NULL) {
        pcre2_code_free(re);
        ctx->nomem = true;
        return false;
    }
    t->approval_commands = na;
    na[t->napproval_commands].re = re;
    na[t->napproval_commands].line = ctx->line;
    na[t->napproval_commands].pattern = strdup(value);
    t->napproval_commands++;
    if (na[t->napproval_commands - 1].pattern == NULL) {
        ctx->nomem = true;
        return false;
    }
    return true;
}

/* mask-live = yes|no (portcullis-policy(5)). */
static bool
parse_mask_live(struct load_ctx *ctx, const char *value, bool *out)
{
    if (pcl_parse_bool(value, out) != PCL_OK) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "mask-live: expected yes or no, not \"%.16s\"", value);
        return false;
    }
    return true;
}

/* approvals-required, grant-ttl, request-timeout, approval-accounts,
 * approval-command. */
static bool
approval_key(struct load_ctx *ctx, const char *key, const char *value)
{
    struct pcl_target *t = ctx->cur;
    unsigned u;

    if (strcmp(key, "approvals-required") == 0) {
        if (pcl_parse_uint(value, 16, &u) != PCL_OK || u == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "approvals-required: expected 1-16, not "
                         "\"%.16s\"", value);
            return false;
        }
        t->approvals_required = u;
        return true;
    }
    if (strcmp(key, "grant-ttl") == 0 ||
        strcmp(key, "request-timeout") == 0) {
        if (pcl_parse_seconds(value, &u) != PCL_OK || u == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "%s: invalid duration \"%.64s\" (use N, Ns, Nm "
                         "or Nh, more than 0, at most 24h)", key, value);
            return false;
        }
        *(strcmp(key, "grant-ttl") == 0 ? &t->grant_ttl
                                        : &t->request_timeout) = u;
        return true;
    }
    if (strcmp(key, "approval-accounts") == 0) {
        t->approval_accounts_line = ctx->line;
        if (strcmp(value, "none") == 0) {
            /* Only approval-command rules: an empty, non-NULL list. */
            t->approval_accounts = calloc(1, sizeof(char *));
            ctx->nomem |= t->approval_accounts == NULL;
            return t->approval_accounts != NULL;
        }
        return pcl_parse_list(value, add_approval_account, ctx) == 0;
    }
    if (strcmp(key, "approval-command") == 0) {
        return add_approval_command(ctx, value);
    }
    pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                 "unknown key \"%.64s\" in [target %s]", key, t->name);
    return false;
}

static bool
target_key(struct load_ctx *ctx, const char *key, const char *value)
{
    struct pcl_target *t = ctx->cur;
    int ki = key_index(target_keys, key);
    int ai;
    unsigned u;

    if (ki < 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "unknown key \"%.64s\" in [target %s]", key, t->name);
        return false;
    }
    /* host-key, allow, approval and approval-command may repeat, to keep
     * lines short. */
    if (strcmp(key, "host-key") != 0 && strcmp(key, "allow") != 0 &&
        strcmp(key, "approval") != 0 &&
        strcmp(key, "approval-command") != 0) {
        if (t->seen_line[ki] != 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "%s: given twice (first on line %d)", key,
                         t->seen_line[ki]);
            return false;
        }
        t->seen_line[ki] = ctx->line;
    }
    if (strcmp(key, "description") == 0) {
        free(t->description);
        t->description = strdup(value);
        ctx->nomem |= t->description == NULL;
        return t->description != NULL;
    }
    if (strcmp(key, "host") == 0) {
        if (value[0] == '\0' || value[0] == '-' ||
            strpbrk(value, " \t@/") != NULL) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "host: invalid host name or address \"%.64s\"",
                         value);
            return false;
        }
        t->host = strdup(value);
        ctx->nomem |= t->host == NULL;
        return t->host != NULL;
    }
    if (strcmp(key, "port") == 0) {
        if (pcl_parse_uint(value, 65535, &u) != PCL_OK || u == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "port: expected 1-65535, not \"%.16s\"", value);
            return false;
        }
        t->port = u;
        t->port_set = true;
        return true;
    }
    if (strcmp(key, "accounts") == 0) {
        return pcl_parse_list(value, add_account, ctx) == 0;
    }
    if (strcmp(key, "connect-timeout") == 0) {
        return parse_timeout(ctx, value, &t->connect_timeout);
    }
    if (strcmp(key, "mask") == 0) {
        t->masks_line = ctx->line;
        return pcl_parse_list(value, add_mask_name, ctx) == 0;
    }
    if (strcmp(key, "mask-live") == 0) {
        bool on;
        if (!parse_mask_live(ctx, value, &on)) {
            return false;
        }
        t->mask_live = on ? 1 : 0;
        return true;
    }
    if (strcmp(key, "credential") == 0) {
        if (!check_credential(ctx, value)) {
            return false;
        }
        t->credential = strdup(value);
        ctx->nomem |= t->credential == NULL;
        return t->credential != NULL;
    }
    if (strcmp(key, "host-key") == 0) {
        if (!check_host_key(ctx, value)) {
            return false;
        }
        if (vec_push(&t->host_keys, &t->nhost_keys, value) != PCL_OK) {
            ctx->nomem = true;
            return false;
        }
        return true;
    }
    if (strcmp(key, "allow") == 0 || strcmp(key, "approval") == 0) {
        ctx->list_key = key;
        if (strcmp(key, "approval") == 0 && t->approval_line == 0) {
            t->approval_line = ctx->line;
        }
        return pcl_parse_list(value, add_allow, ctx) == 0;
    }
    if (strncmp(key, "approval", 8) == 0 || strcmp(key, "grant-ttl") == 0 ||
        strcmp(key, "request-timeout") == 0) {
        return approval_key(ctx, key, value);
    }
    ai = algo_index(key);
    return set_algos(ctx, &t->algos[ai], key, value);
}

static bool
defaults_key(struct load_ctx *ctx, const char *key, const char *value)
{
    int ki = key_index(default_keys, key);
    unsigned u;

    if (ki < 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "unknown key \"%.64s\" in [defaults]", key);
        return false;
    }
    if (ctx->defaults_seen[ki] != 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "%s: given twice (first on line %d)", key,
                     ctx->defaults_seen[ki]);
        return false;
    }
    ctx->defaults_seen[ki] = ctx->line;
    if (strcmp(key, "connect-timeout") == 0) {
        return parse_timeout(ctx, value, &ctx->p->default_connect_timeout);
    }
    if (strcmp(key, "mask-live") == 0) {
        return parse_mask_live(ctx, value, &ctx->p->default_mask_live);
    }
    if (strcmp(key, "port") == 0) {
        if (pcl_parse_uint(value, 65535, &u) != PCL_OK || u == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "port: expected 1-65535, not \"%.16s\"", value);
            return false;
        }
        ctx->p->default_port = u;
        return true;
    }
    return set_algos(ctx, &ctx->p->default_algos[algo_index(key)], key,
                     value);
}

static bool
mask_key(struct load_ctx *ctx, const char *key, const char *value)
{
    struct mask_rule *m = ctx->cur_mask;
    char why[256];
    char **slot;
    int *seen;

    if (key_index(mask_keys, key) < 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "unknown key \"%.64s\" in [mask %s]", key, m->name);
        return false;
    }
    slot = strcmp(key, "pattern") == 0 ? &m->pattern : &m->replace;
    seen = strcmp(key, "pattern") == 0 ? &m->seen_pattern : &m->seen_replace;
    if (*seen != 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "%s: given twice (first on line %d)", key, *seen);
        return false;
    }
    *seen = ctx->line;
    if (strcmp(key, "pattern") == 0) {
        if (value[0] == '\0') {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "pattern: empty");
            return false;
        }
        if (ctx->checks != NULL && ctx->checks->mask_pattern != NULL &&
            ctx->checks->mask_pattern(value, why, sizeof(why)) != 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line, "pattern: %s", why);
            return false;
        }
    }
    *slot = strdup(value);
    ctx->nomem |= *slot == NULL;
    return *slot != NULL;
}

static bool
new_mask_section(struct load_ctx *ctx, const char *name)
{
    struct pcl_policy *p = ctx->p;
    struct mask_rule *nm;
    size_t i;

    name += strspn(name, " \t");
    if (!pcl_cmdline_is_target_name(name) || strcmp(name, "builtin") == 0 ||
        strcmp(name, "none") == 0) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "invalid mask rule set name \"%.64s\"%s", name,
                     pcl_cmdline_is_target_name(name) ? " (reserved)" : "");
        return false;
    }
    for (i = 0; i < p->nmasks; i++) {
        if (strcmp(p->masks[i].name, name) == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "mask \"%s\" defined twice (first on line %d)", name,
                         p->masks[i].line);
            return false;
        }
    }
    nm = realloc(p->masks, (p->nmasks + 1) * sizeof(*nm));
    if (nm == NULL) {
        ctx->nomem = true;
        return false;
    }
    p->masks = nm;
    memset(&nm[p->nmasks], 0, sizeof(nm[0]));
    nm[p->nmasks].name = strdup(name);
    nm[p->nmasks].line = ctx->line;
    if (nm[p->nmasks].name == NULL) {
        ctx->nomem = true;
        return false;
    }
    ctx->cur_mask = &nm[p->nmasks];
    p->nmasks++;
    ctx->sec = SEC_MASK;
    return true;
}

static bool
new_section(struct load_ctx *ctx, const char *section)
{
    struct pcl_policy *p = ctx->p;
    struct pcl_target *t;
    struct pcl_target **nt;
    const char *name;
    size_t i;

    ctx->sec = SEC_BAD;
    ctx->cur = NULL;
    if (strcmp(section, "defaults") == 0) {
        if (p->ntargets > 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "[defaults] must come before the first [target]");
            return false;
        }
        ctx->sec = SEC_DEFAULTS;
        return true;
    }
    if (strncmp(section, "mask", 4) == 0 &&
        (section[4] == ' ' || section[4] == '\t')) {
        return new_mask_section(ctx, section + 4);
    }
    if (strncmp(section, "role", 4) == 0 &&
        (section[4] == ' ' || section[4] == '\t')) {
        return new_role_section(ctx, section + 4);
    }
    if (strncmp(section, "target", 6) != 0 ||
        (section[6] != ' ' && section[6] != '\t')) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "unknown section [%.64s] (expected [defaults], "
                     "[target NAME], [mask NAME] or [role NAME])", section);
        return false;
    }
    name = section + 6;
    name += strspn(name, " \t");
    if (!pcl_cmdline_is_target_name(name)) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "invalid target name \"%.64s\" (letters, digits, '.', "
                     "'_', '-'; starting with a letter or digit)", name);
        return false;
    }
    if (pcl_cmdline_is_verb(name)) {
        pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                     "target name \"%s\" is a reserved command word", name);
        return false;
    }
    for (i = 0; i < p->ntargets; i++) {
        if (strcmp(p->targets[i]->name, name) == 0) {
            pcl_diag_add(ctx->diag, ctx->file, ctx->line,
                         "target \"%s\" defined twice (first on line %d)",
                         name, p->targets[i]->line);
            return false;
        }
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        ctx->nomem = true;
        return false;
    }
    t->name = strdup(name);
    t->line = ctx->line;
    t->mask_live = -1;
    nt = realloc(p->targets, (p->ntargets + 1) * sizeof(*nt));
    if (nt != NULL) {
        p->targets = nt;
    }
    if (t->name == NULL || nt == NULL) {
        target_free(t);
        ctx->nomem = true;
        return false;
    }
    p->targets = nt;
    p->targets[p->ntargets++] = t;
    ctx->cur = t;
    ctx->sec = SEC_TARGET;
    return true;
}

static bool
handler(void *vctx, const char *file, int line, const char *section,
        const char *key, const char *value)
{
    struct load_ctx *ctx = vctx;

    ctx->file = file;
    ctx->line = line;
    if (key == NULL) {
        return new_section(ctx, section);
    }
    switch (ctx->sec) {
    case SEC_NONE:
        pcl_diag_add(ctx->diag, file, line, "\"%.64s\" outside of a section",
                     key);
        return false;
    case SEC_BAD:
        return true; /* reported at the section header */
    case SEC_DEFAULTS:
        return defaults_key(ctx, key, value);
    case SEC_TARGET:
        return target_key(ctx, key, value);
    case SEC_MASK:
        return mask_key(ctx, key, value);
    case SEC_ROLE:
        return role_key(ctx, key, value);
    }
    return false;
}

/* After parsing: required keys, and what a target inherits. */
static void
finish(struct load_ctx *ctx)
{
    struct pcl_policy *p = ctx->p;
    size_t i;
    int a;

    for (i = 0; i < p->nroles; i++) {
        if (p->roles[i].nmembers == 0 || p->roles[i].may == 0) {
            pcl_diag_add(ctx->diag, p->path, p->roles[i].line,
                         "[role %s]: members and may are both required",
                         p->roles[i].name);
        }
    }
    for (i = 0; i < p->nmasks; i++) {
        if (p->masks[i].pattern == NULL && p->masks[i].seen_pattern == 0) {
            pcl_diag_add(ctx->diag, p->path, p->masks[i].line,
                         "[mask %s]: no pattern", p->masks[i].name);
        }
        if (p->masks[i].replace == NULL) {
            p->masks[i].replace = strdup("****");
            ctx->nomem |= p->masks[i].replace == NULL;
        }
    }

    for (i = 0; i < p->ntargets; i++) {
        struct pcl_target *t = p->targets[i];
        if (t->host == NULL) {
            pcl_diag_add(ctx->diag, p->path, t->line,
                         "[target %s]: no host", t->name);
        }
        if (t->nhost_keys == 0) {
            pcl_diag_add(ctx->diag, p->path, t->line,
                         "[target %s]: no host-key pinned (get it with "
                         "ssh-keyscan HOST | ssh-keygen -lf -)", t->name);
        }
        if (t->naccounts == 0) {
            pcl_diag_add(ctx->diag, p->path, t->line,
                         "[target %s]: no accounts", t->name);
        }
        if (!t->port_set) {
            t->port = p->default_port;
        }
        if (t->connect_timeout == 0) {
            t->connect_timeout = p->default_connect_timeout;
        }
        if (t->mask_live < 0) {
            t->mask_live = p->default_mask_live ? 1 : 0;
        }
        if (t->credential == NULL) {
            t->credential = strdup("%t");
            ctx->nomem |= t->credential == NULL;
        }
        if (t->masks_line == 0 &&
            vec_push(&t->masks, &t->nmasks, "builtin") != PCL_OK) {
            ctx->nomem = true;
        }
        if (t->nmasks > PCL_POLICY_MASKS_MAX) {
            pcl_diag_add(ctx->diag, p->path, t->masks_line,
                         "mask: more than %d rule sets",
                         PCL_POLICY_MASKS_MAX);
        }
        for (size_t k = 0; k < t->nmasks; k++) {
            const char *pat;
            const char *rep;
            if (strcmp(t->masks[k], "none") == 0) {
                if (t->nmasks > 1) {
                    pcl_diag_add(ctx->diag, p->path, t->masks_line,
                                 "mask: \"none\" cannot be combined with "
                                 "rule sets");
                }
                continue;
            }
            if (strcmp(t->masks[k], "builtin") != 0 &&
                pcl_policy_mask(p, t->masks[k], &pat, &rep) != PCL_OK) {
                pcl_diag_add(ctx->diag, p->path, t->masks_line,
                             "mask: no [mask %s] section", t->masks[k]);
            }
        }
        if (t->napprovers == 0 &&
            (t->approval_accounts_line != 0 || t->napproval_commands > 0 ||
             t->approvals_required != 0 || t->grant_ttl != 0 ||
             t->request_timeout != 0)) {
            pcl_diag_add(ctx->diag, p->path, t->line,
                         "[target %s]: approval keys without an approval "
                         "list (who may approve)", t->name);
        }
        for (a = 0; a < ALGO_COUNT; a++) {
            if (t->algos[a] == NULL) {
                t->algos[a] = strdup(p->default_algos[a] != NULL
                                         ? p->default_algos[a]
                                         : algo_defaults[a]);
                ctx->nomem |= t->algos[a] == NULL;
            }
        }
    }
}

int
pcl_policy_load(const char *path, const struct pcl_policy_checks *checks,
                struct pcl_diag *diag, struct pcl_policy **out)
{
    struct load_ctx ctx;
    struct pcl_policy *p = NULL;
    FILE *fp = NULL;
    char why[512];
    size_t before = pcl_diag_count(diag);
    int rc;

    *out = NULL;
    memset(&ctx, 0, sizeof(ctx));
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->path = strdup(path)) == NULL) {
        pcl_diag_add(diag, path, 0, "out of memory");
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    p->default_port = 22;
    rc = pcl_file_open(path, PCL_FILE_CONFIG, &fp, why, sizeof(why));
    if (rc != PCL_OK) {
        pcl_diag_add(diag, why, 0, "%s", pcl_err_str(rc));
        goto out;
    }
    ctx.p = p;
    ctx.checks = checks;
    ctx.diag = diag;
    ctx.file = path;
    ctx.sec = SEC_NONE;
    (void)pcl_ini_parse(path, fp, handler, &ctx, diag);
    finish(&ctx);
    if (ctx.nomem) {
        pcl_diag_add(diag, path, 0, "out of memory");
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    if (pcl_diag_count(diag) != before) {
        rc = PCL_ERR_CONFIG;
        goto out;
    }
    *out = p; /* transfer ownership */
    p = NULL;
    rc = PCL_OK;
out:
    if (fp != NULL) {
        fclose(fp);
    }
    pcl_policy_free(p);
    return rc;
}

static const struct pcl_target *
find_target(const struct pcl_policy *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->ntargets; i++) {
        if (strcmp(p->targets[i]->name, name) == 0) {
            return p->targets[i];
        }
    }
    return NULL;
}

static bool
entry_matches(const struct allow_entry *e, const struct pcl_identity *id)
{
    size_t i;

    if (e->kind == ALLOW_USER) {
        return fnmatch(e->pattern, id->user, 0) == 0;
    }
    for (i = 0; i < id->ngroups; i++) {
        if (fnmatch(e->pattern, id->groups[i], 0) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * A matching negated entry denies wherever it stands (as OpenSSH's pattern
 * lists do); otherwise the first matching entry allows. Returns the
 * deciding entry or NULL (no entry matched: default deny).
 */
static const struct allow_entry *
match_entries(const struct allow_entry *list, size_t n,
              const struct pcl_identity *id)
{
    const struct allow_entry *first = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        const struct allow_entry *e = &list[i];
        if (!entry_matches(e, id)) {
            continue;
        }
        if (e->negate) {
            return e;
        }
        if (first == NULL) {
            first = e;
        }
    }
    return first;
}

static const struct allow_entry *
match_allow(const struct pcl_target *t, const struct pcl_identity *id)
{
    return match_entries(t->allow, t->nallow, id);
}

int
pcl_policy_may(const struct pcl_policy *p, const struct pcl_identity *id,
               const char *verb, struct pcl_decision *d)
{
    int bit = key_index(role_verbs, verb);
    size_t i;

    memset(d, 0, sizeof(*d));
    d->decision = PCL_DECISION_DENY;
    snprintf(d->rule, sizeof(d->rule), "default-deny");
    snprintf(d->reason, sizeof(d->reason), "no role gives %.32s to %.64s",
             verb, id->user);
    if (bit < 0) {
        return PCL_ERR_DENIED;
    }
    for (i = 0; i < p->nroles; i++) {
        const struct role *r = &p->roles[i];
        const struct allow_entry *e;

        if ((r->may & (1u << bit)) == 0) {
            continue;
        }
        e = match_entries(r->members, r->nmembers, id);
        if (e == NULL || e->negate) {
            continue;
        }
        d->decision = PCL_DECISION_ALLOW;
        snprintf(d->rule, sizeof(d->rule), "%s:%d", p->path, e->line);
        snprintf(d->reason, sizeof(d->reason), "role %.64s gives %.32s",
                 r->name, verb);
        return PCL_OK;
    }
    return PCL_ERR_DENIED;
}

int
pcl_target_is_allowed(const struct pcl_target *t,
                      const struct pcl_identity *id)
{
    const struct allow_entry *e = match_allow(t, id);

    return e != NULL && !e->negate;
}

/* The account name an entry of accounts stands for ("%u": the user). */
static const char *
account_of(const char *entry, const struct pcl_identity *id)
{
    return strcmp(entry, "%u") == 0 ? id->user : entry;
}

int
pcl_policy_decide(const struct pcl_policy *p, const struct pcl_identity *id,
                  const char *target, const char *account,
                  struct pcl_decision *d)
{
    const struct pcl_target *t;
    const struct allow_entry *e;
    size_t i;

    memset(d, 0, sizeof(*d));
    d->decision = PCL_DECISION_DENY;
    snprintf(d->rule, sizeof(d->rule), "default-deny");
    t = find_target(p, target);
    if (t == NULL) {
        snprintf(d->reason, sizeof(d->reason), "no such target");
        return PCL_ERR_DENIED;
    }
    d->target = t;
    e = match_allow(t, id);
    if (e == NULL) {
        snprintf(d->rule, sizeof(d->rule), "%s:%d", p->path, t->line);
        snprintf(d->reason, sizeof(d->reason),
                 "user %s matches no allow entry of target %s", id->user,
                 t->name);
        return PCL_ERR_DENIED;
    }
    snprintf(d->rule, sizeof(d->rule), "%s:%d", p->path, e->line);
    if (e->negate) {
        snprintf(d->reason, sizeof(d->reason),
                 "user %s excluded by !%s:%s on target %s", id->user,
                 e->kind == ALLOW_USER ? "user" : "group", e->pattern,
                 t->name);
        return PCL_ERR_DENIED;
    }
    if (account == NULL) {
        account = account_of(t->accounts[0], id);
    } else {
        for (i = 0; i < t->naccounts; i++) {
            if (strcmp(account_of(t->accounts[i], id), account) == 0) {
                break;
            }
        }
        if (i == t->naccounts) {
            snprintf(d->reason, sizeof(d->reason),
                     "account %s is not permitted on target %s", account,
                     t->name);
            return PCL_ERR_DENIED;
        }
    }
    if (strlen(account) >= sizeof(d->account)) {
        snprintf(d->reason, sizeof(d->reason), "account name too long");
        return PCL_ERR_DENIED;
    }
    snprintf(d->account, sizeof(d->account), "%s", account);
    snprintf(d->reason, sizeof(d->reason), "allowed by %s:%s",
             e->kind == ALLOW_USER ? "user" : "group", e->pattern);
    d->decision = PCL_DECISION_ALLOW;
    return PCL_OK;
}

int
pcl_policy_mask(const struct pcl_policy *p, const char *name,
                const char **pattern, const char **replacement)
{
    size_t i;

    for (i = 0; i < p->nmasks; i++) {
        if (strcmp(p->masks[i].name, name) == 0 &&
            p->masks[i].pattern != NULL) {
            *pattern = p->masks[i].pattern;
            *replacement = p->masks[i].replace;
            return PCL_OK;
        }
    }
    return PCL_ERR_NOTFOUND;
}

size_t
pcl_target_nmasks(const struct pcl_target *t)
{
    return t->nmasks;
}

const char *
pcl_target_mask(const struct pcl_target *t, size_t i)
{
    return i < t->nmasks ? t->masks[i] : NULL;
}

bool
pcl_target_mask_live(const struct pcl_target *t)
{
    return t->mask_live > 0;
}

size_t
pcl_policy_ntargets(const struct pcl_policy *p)
{
    return p->ntargets;
}

const struct pcl_target *
pcl_policy_target(const struct pcl_policy *p, size_t i)
{
    return i < p->ntargets ? p->targets[i] : NULL;
}

void
pcl_policy_foreach_key(void (*fn)(const char *section, const char *key,
                                  void *ctx),
                       void *ctx)
{
    size_t i;

    for (i = 0; default_keys[i] != NULL; i++) {
        fn("defaults", default_keys[i], ctx);
    }
    for (i = 0; target_keys[i] != NULL; i++) {
        fn("target", target_keys[i], ctx);
    }
    for (i = 0; mask_keys[i] != NULL; i++) {
        fn("mask", mask_keys[i], ctx);
    }
    for (i = 0; role_keys[i] != NULL; i++) {
        fn("role", role_keys[i], ctx);
    }
}

const char *
pcl_target_name(const struct pcl_target *t)
{
    return t->name;
}

const char *
pcl_target_description(const struct pcl_target *t)
{
    return t->description != NULL ? t->description : "";
}

const char *
pcl_target_host(const struct pcl_target *t)
{
    return t->host;
}

unsigned
pcl_target_port(const struct pcl_target *t)
{
    return t->port;
}

unsigned
pcl_target_connect_timeout(const struct pcl_target *t)
{
    return t->connect_timeout;
}

const char *
pcl_target_kex(const struct pcl_target *t)
{
    return t->algos[ALGO_KEX];
}

const char *
pcl_target_ciphers(const struct pcl_target *t)
{
    return t->algos[ALGO_CIPHERS];
}

const char *
pcl_target_macs(const struct pcl_target *t)
{
    return t->algos[ALGO_MACS];
}

const char *
pcl_target_hostkey_algorithms(const struct pcl_target *t)
{
    return t->algos[ALGO_HOSTKEY];
}

size_t
pcl_target_nhost_keys(const struct pcl_target *t)
{
    return t->nhost_keys;
}

const char *
pcl_target_host_key(const struct pcl_target *t, size_t i)
{
    return i < t->nhost_keys ? t->host_keys[i] : NULL;
}

int
pcl_target_credential(const struct pcl_target *t, const char *account,
                      char *out, size_t outlen)
{
    const char *s = t->credential;
    size_t j = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        const char *add = NULL;
        char one[2] = { s[i], '\0' };
        size_t alen;

        if (s[i] == '%') {
            i++;
            add = s[i] == 't' ? t->name : s[i] == 'a' ? account : "%";
        } else {
            add = one;
        }
        alen = strlen(add);
        if (j + alen >= outlen) {
            return PCL_ERR_TOOBIG;
        }
        memcpy(out + j, add, alen);
        j += alen;
    }
    out[j] = '\0';
    return PCL_OK;
}

int
pcl_target_has_approval(const struct pcl_target *t)
{
    return t->napprovers > 0;
}

int
pcl_target_may_approve(const struct pcl_target *t,
                       const struct pcl_identity *id)
{
    const struct allow_entry *e = match_entries(t->approvers, t->napprovers, id);

    return e != NULL && !e->negate;
}

int
pcl_target_approval(const struct pcl_policy *p, const struct pcl_target *t,
                    const char *account, const char *command,
                    struct pcl_approval_rule *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    if (t->napprovers == 0) {
        return PCL_OK;
    }
    out->required = t->approvals_required;
    out->grant_ttl = t->grant_ttl;
    out->request_timeout = t->request_timeout;
    if (t->approval_accounts == NULL) {
        out->needed = true;
        snprintf(out->rule, sizeof(out->rule), "%s:%d", p->path,
                 t->approval_line);
        return PCL_OK;
    }
    for (i = 0; i < t->napproval_accounts; i++) {
        if (fnmatch(t->approval_accounts[i], account, 0) == 0) {
            out->needed = true;
            snprintf(out->rule, sizeof(out->rule), "%s:%d", p->path,
                     t->approval_accounts_line);
            return PCL_OK;
        }
    }
    if (command == NULL) {
        return PCL_OK;
    }
    for (i = 0; i < t->napproval_commands; i++) {
        const struct approval_command *c = &t->approval_commands[i];
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->re,
                                                                    NULL);
        int m;

        if (md == NULL) {
            return PCL_ERR_NOMEM;
        }
        m = pcre2_match(c->re, (PCRE2_SPTR)command, strlen(command), 0, 0,
                        md, NULL);
        pcre2_match_data_free(md);
        if (m >= 0 || (m != PCRE2_ERROR_NOMATCH)) {
            /* A match, or a match that could not complete (limits): the
             * command needs approval either way (fail closed). */
            out->needed = true;
            out->command_scoped = true;
            snprintf(out->rule, sizeof(out->rule), "%s:%d", p->path,
                     c->line);
            return PCL_OK;
        }
    }
    return PCL_OK;
}
