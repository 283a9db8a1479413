/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/mask.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mask_pattern.h"
#include "portcullis/err.h"
#include "portcullis/log.h"

/*
 * How the filter works.
 *
 * Bytes go through one window, win[0, win_len):
 *
 *     [ context | held | new bytes ]
 *     0         ctx_len            win_len
 *
 * The context is up to CTX_KEEP bytes that were already released; it is
 * only there so lookbehinds (and \b) see the real previous bytes, and so
 * that ^ matches at the start of the stream alone. The held bytes are
 * the tail that could still start a match. New bytes are appended in
 * slices of at most SLICE bytes, so the window has a fixed size and the
 * filter never allocates after pcl_mask_new and the add_* calls.
 *
 * Each pass looks for the next hit of every rule from pos: a complete
 * match, a partial match (PCRE2_PARTIAL_HARD: the data ended while the
 * pattern could still match), or none. A rule's hit is kept until pos
 * moves past the point where its attempt started, so every rule scans the
 * window about once. The leftmost complete match wins (the longest at the
 * same start, then the rule added first) unless a partial match starts at
 * or before it: then everything before the partial match is released and
 * the rest is held until more data, the deadline or the end. A hard
 * partial match is returned as soon as the pattern reaches the end of the
 * data, so a complete match is never one that more data could change:
 * the output does not depend on how the stream was cut. Only attempts
 * that start near the end (within the rule's reach, see mask_pattern.c)
 * need partial matching, which is slow; the rest of the window is
 * searched normally.
 *
 * At the deadline (and at the end) the expired bytes are matched as if the
 * data ended there (complete matches only) and released.
 */

#define CTX_KEEP 256   /* bytes of context; longest lookbehind accepted */
#define SLICE 65536    /* new bytes scanned per pass, at most */
#define HOLD_MAX PCL_MASK_MATCH_MAX
#define WIN_CAP (CTX_KEEP + HOLD_MAX + SLICE)
#define WIN_PAD 64     /* JIT SIMD loads may read a little past the end */
#define SEG_MAX 64     /* arrival times remembered for held bytes */
#define NAME_MAX_LEN 64
#define MATCH_LIMIT 1000000       /* backtracking steps per match attempt */
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
#define SECRET_MIN 4

enum rule_kind {
    RULE_REGEX,
    RULE_SECRET,
};

struct rule {
    enum rule_kind kind;
    char *name;
    char *repl;
    size_t repl_len;
    pcre2_code *code;     /* RULE_REGEX */
    size_t reach;         /* bytes an attempt may look at, at most */
    /* Every match starts with prefix[0, prefix_len). */
    uint8_t prefix[PCL_MASK_PREFIX_MAX];
    size_t prefix_len;
    bool prefix_caseless;
    size_t rare;          /* index of the prefix's (secret's) rarest byte */
    bool jit;
    bool error_logged;
    size_t secret_off;    /* RULE_SECRET: bytes in the locked arena */
    size_t secret_len;
};

enum hit_kind {
    HIT_UNKNOWN = 0,
    HIT_NONE,
    HIT_FULL,
    HIT_PARTIAL,
};

/* A rule's next hit in the window (offsets into win). */
struct hit {
    enum hit_kind kind;
    size_t from;  /* where the attempt started (before \K) */
    size_t start; /* replaced bytes: [start, end) */
    size_t end;
};

/* Bytes up to stream offset end arrived at time t_ms. */
struct seg {
    uint64_t end;
    uint64_t t_ms;
};

struct pcl_mask {
    unsigned holdback_ms;
    struct rule *rules;
    struct hit *hits;
    size_t nrules;
    size_t rules_cap;

    uint8_t *win;
    size_t win_len;
    size_t ctx_len;
    uint64_t stream_off;  /* stream offset of win[ctx_len] */

    struct seg segs[SEG_MAX];
    size_t nsegs;

    uint8_t *arena;       /* exact secrets: mmap'ed, mlock'ed */
    size_t arena_len;
    size_t arena_cap;

    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;

    uint64_t count;
    int failed;           /* sticky sink error */
    size_t expand;        /* output bytes per input byte, at most */
};

struct builtin {
    const char *name;
    const char *pattern;
};

#define BUILTIN_REPLACEMENT "********"

/*
 * Where a token may start: after a byte that is not a word character, or
 * right after a colour or erase sequence (grep --color, ls): those end in a
 * letter, so \b alone would miss "\e[01;31m\e[KAKIA...". Lookbehinds must
 * have a fixed length in PCRE2 10.42, hence one branch per length.
 */
#define START "(?:(?<![A-Za-z0-9_])|(?<=\\x1b\\[[mK]|[\\[;][0-9]m" \
    "|[\\[;][0-9]{2}m|[\\[;][0-9]{3}m))"

/*
 * Built-in rules. Each is bounded so that a match stays within
 * PCL_MASK_MATCH_MAX bytes. Where a label around the secret helps the
 * reader of the recording (URL user and host, "Authorization: Bearer",
 * "aws_secret_access_key="), \K starts the replaced part after it, so only
 * the secret itself is replaced.
 */
static const struct builtin builtins[] = {
    /* PEM, OpenSSH and PGP private key blocks. The END line is optional:
     * a block cut short (head, a scrolled pager) still has its lines
     * masked; each line must be whole, or a header line such as
     * "Proc-Type:" would end the block at its first word. 95 lines of 76
     * base64 characters cover RSA keys up to about 7,500 bits; the worst
     * case is below PCL_MASK_MATCH_MAX. */
    { "builtin:private-key",
      "-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----"
      "(?:[\\r\\n]{1,4}[ \\t]{0,4}(?:[A-Za-z0-9+/=]{1,76}"
      "|[A-Za-z][A-Za-z-]{0,15}: ?[^\\r\\n]{0,56})(?=[\\r\\n]|\\z)){0,95}"
      "(?:[\\r\\n]{1,4}[ \\t]{0,4}-----END (?:[A-Z0-9]{1,12} ){0,3}"
      "PRIVATE KEY(?: BLOCK)?-----)?" },
    /* AWS access key IDs: long-term (AKIA) and temporary (ASIA). */
    { "builtin:aws-access-key", START "(?:AKIA|ASIA)[A-Z0-9]{16}\\b" },
    /* The secret access key after its usual labels
     * (aws_secret_access_key, SecretAccessKey): only the key goes. */
    { "builtin:aws-secret-key",
      "(?i)secret_?access_?key[\"']?[ \\t]{0,8}[:=][ \\t]{0,8}[\"']?"
      "\\K[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])" },
    /* The token after "Authorization: Bearer", or after a bare "Bearer"
     * when it looks like one (12+ characters, a digit in the first 64).
     * Only the token goes. */
    { "builtin:bearer",
      "(?i)bearer[ \\t](?:(?<=authorization:[ \\t]bearer[ \\t]"
      "|authorization:bearer[ \\t])[ \\t]{0,8}\\K[A-Za-z0-9._~+/-]{1,4096}"
      "|[ \\t]{0,8}\\K(?=[A-Za-z._~+/-]{0,63}[0-9])"
      "[A-Za-z0-9._~+/-]{12,4096})={0,2}" },
    /* header.payload.signature, base64url; the header is a JSON object,
     * the signature is empty with alg none. */
    { "builtin:jwt",
      START "eyJ[A-Za-z0-9_-]{8,1024}\\.[A-Za-z0-9_-]{8,4096}"
      "\\.[A-Za-z0-9_-]{0,2048}" },
    /* scheme://user:PASSWORD@host: only the password is replaced. */
    { "builtin:url-password", "://[^\\s:/@]{0,128}:\\K[^\\s/@]{1,256}(?=@)" },
    { "builtin:github-token",
      START "(?:gh[pousr]_[A-Za-z0-9]{36,255}"
      "|github_pat_[A-Za-z0-9_]{22,255})\\b" },
    { "builtin:gitlab-token", START "glpat-[A-Za-z0-9_-]{20,255}" },
    { "builtin:slack-token", START "xox[abposr]-[A-Za-z0-9-]{10,255}" },
    { "builtin:google-api-key",
      START "AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])" },
};

/* Names end up in recordings and logs: a short, plain token. */
static bool
valid_name(const char *name)
{
    size_t i;

    if (name == NULL || name[0] == '\0') {
        return false;
    }
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (i >= NAME_MAX_LEN) {
            return false;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':' || c == '/' || c == '@')) {
            return false;
        }
    }
    return true;
}

int
pcl_mask_new(unsigned holdback_ms, struct pcl_mask **out)
{
    struct pcl_mask *m = NULL;
    uint32_t have_jit = 0;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        goto out;
    }
    m->holdback_ms = holdback_ms;
    m->expand = 1;
    /* Zeroed, padding included: the JIT's vector loads may touch bytes
     * past the subject, and those must not be uninitialised (valgrind). */
    m->win = calloc(1, WIN_CAP + WIN_PAD);
    if (m->win == NULL) {
        goto out;
    }
    /* Group 0 is all we read; pcre2_match returns 0 when captures do not
     * fit, which is fine. */
    m->md = pcre2_match_data_create(1, NULL);
    m->mctx = pcre2_match_context_create(NULL);
    if (m->md == NULL || m->mctx == NULL) {
        goto out;
    }
    pcre2_set_match_limit(m->mctx, MATCH_LIMIT);
    if (pcre2_config(PCRE2_CONFIG_JIT, &have_jit) >= 0 && have_jit) {
        m->jit_stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX,
                                              NULL);
        if (m->jit_stack == NULL) {
            goto out;
        }
        pcre2_jit_stack_assign(m->mctx, NULL, m->jit_stack);
    }
    *out = m; /* transfer ownership */
    m = NULL;
    rc = PCL_OK;
out:
    pcl_mask_free(m);
    return rc;
}

static void
arena_free(uint8_t *arena, size_t cap)
{
    if (arena == NULL) {
        return;
    }
    explicit_bzero(arena, cap);
    (void)munlock(arena, cap);
    (void)munmap(arena, cap);
}

void
pcl_mask_free(struct pcl_mask *m)
{
    size_t i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < m->nrules; i++) {
        free(m->rules[i].name);
        free(m->rules[i].repl);
        pcre2_code_free(m->rules[i].code);
    }
    free(m->rules);
    free(m->hits);
    if (m->win != NULL) {
        explicit_bzero(m->win, WIN_CAP + WIN_PAD);
        free(m->win);
    }
    arena_free(m->arena, m->arena_cap);
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_jit_stack_free(m->jit_stack);
    free(m);
}

/* Makes room for one more rule; hits grow with rules. */
static int
rules_reserve(struct pcl_mask *m)
{
    struct rule *nr;
    struct hit *nh;
    size_t cap;

    if (m->nrules < m->rules_cap) {
        return PCL_OK;
    }
    cap = m->rules_cap == 0 ? 16 : m->rules_cap * 2;
    nr = realloc(m->rules, cap * sizeof(*nr));
    if (nr == NULL) {
        return PCL_ERR_NOMEM;
    }
    m->rules = nr;
    nh = realloc(m->hits, cap * sizeof(*nh));
    if (nh == NULL) {
        return PCL_ERR_NOMEM;
    }
    m->hits = nh;
    m->rules_cap = cap;
    return PCL_OK;
}

/* Fills name and replacement of r (copies). */
static int
rule_init(struct rule *r, enum rule_kind kind, const char *name,
          const char *replacement)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->name = strdup(name);
    r->repl = strdup(replacement);
    if (r->name == NULL || r->repl == NULL) {
        free(r->name);
        free(r->repl);
        return PCL_ERR_NOMEM;
    }
    r->repl_len = strlen(replacement);
    return PCL_OK;
}

/*
 * Raises the engine's expansion bound for a rule whose matches are at
 * least min_len bytes long: each match consumes min_len bytes or more of
 * input and adds at most repl_len bytes beyond them, so the output is at
 * most 1 + ceil(repl_len / min_len) bytes per input byte.
 */
static void
note_expansion(struct pcl_mask *m, size_t min_len, size_t repl_len)
{
    size_t e;

    if (min_len == 0) {
        min_len = 1;
    }
    e = 1 + (repl_len + min_len - 1) / min_len;
    if (e > m->expand) {
        m->expand = e;
    }
}

int
pcl_mask_add_rule(struct pcl_mask *m, const char *name, const char *pattern,
                  const char *replacement, char *why, size_t whylen)
{
    pcre2_code *code = NULL;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE erroff = 0;
    uint32_t match_empty = 0;
    uint32_t min_len = 0;
    uint32_t lookbehind = 0;
    int errcode = 0;
    struct rule *r;
    int rc = PCL_ERR_CONFIG;

    pcl_err_why(why, whylen, "no error");
    if (!valid_name(name)) {
        pcl_err_why(why, whylen, "invalid rule name (1-%d characters of "
                "A-Z a-z 0-9 - _ . : / @)", NAME_MAX_LEN);
        goto out;
    }
    if (pattern == NULL || replacement == NULL) {
        pcl_err_why(why, whylen, "rule %s: no pattern or replacement", name);
        rc = PCL_ERR_INVAL;
        goto out;
    }
    /* Bytes, not UTF-8: terminal output need not be valid UTF-8, and a
     * (*UTF) in the pattern must not turn that on behind our back. */
    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         PCRE2_NEVER_UTF, &errcode, &erroff, NULL);
    if (code == NULL) {
        if (errcode == PCRE2_ERROR_NOMEMORY) {
            rc = PCL_ERR_NOMEM;
            goto out;
        }
        (void)pcre2_get_error_message(errcode, msg, sizeof(msg));
        pcl_err_why(why, whylen, "rule %s: invalid pattern at offset %zu: %s",
                name, (size_t)erroff, (const char *)msg);
        goto out;
    }
    (void)pcre2_pattern_info(code, PCRE2_INFO_MATCHEMPTY, &match_empty);
    (void)pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min_len);
    if (match_empty || min_len == 0) {
        pcl_err_why(why, whylen, "rule %s: pattern can match the empty string",
                name);
        goto out;
    }
    (void)pcre2_pattern_info(code, PCRE2_INFO_MAXLOOKBEHIND, &lookbehind);
    if (lookbehind > CTX_KEEP) {
        pcl_err_why(why, whylen, "rule %s: lookbehind longer than %d bytes",
                name, CTX_KEEP);
        goto out;
    }
    rc = rules_reserve(m);
    if (rc != PCL_OK) {
        goto out;
    }
    r = &m->rules[m->nrules];
    rc = rule_init(r, RULE_REGEX, name, replacement);
    if (rc != PCL_OK) {
        goto out;
    }
    /* Without JIT (no support, or no executable memory) the interpreter
     * gives the same results, only slower. */
    r->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE |
                                         PCRE2_JIT_PARTIAL_HARD) == 0;
    if (!r->jit) {
        debug_f("rule %s: no JIT, using the interpreter", name);
    }
    r->reach = pcl_mask_pattern_reach(pattern);
    r->prefix_len = pcl_mask_pattern_prefix(pattern, r->prefix,
                                            &r->prefix_caseless);
    r->rare = pcl_mask_rarest(r->prefix, r->prefix_len);
    r->code = code; /* transfer ownership */
    code = NULL;
    note_expansion(m, min_len, r->repl_len);
    m->nrules++;
    rc = PCL_OK;
out:
    pcre2_code_free(code);
    return rc;
}

int
pcl_mask_add_builtin(struct pcl_mask *m)
{
    char why[256];
    size_t i;
    int rc = PCL_OK;

    for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        rc = pcl_mask_add_rule(m, builtins[i].name, builtins[i].pattern,
                               BUILTIN_REPLACEMENT, why, sizeof(why));
        if (rc != PCL_OK) {
            /* Only NOMEM is expected; a bad built-in is our bug. */
            if (rc != PCL_ERR_NOMEM) {
                error_f("%s", why);
            }
            goto out;
        }
    }
out:
    return rc;
}

/* Grows the locked arena so that need bytes fit; the old one is wiped. */
static int
arena_reserve(struct pcl_mask *m, size_t need)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    size_t cap;
    uint8_t *na;

    if (need <= m->arena_cap) {
        return PCL_OK;
    }
    cap = m->arena_cap * 2 > need ? m->arena_cap * 2 : need;
    cap = (cap + pg - 1) / pg * pg;
    na = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
    if (na == MAP_FAILED) {
        int err = errno;
        error_f("mmap %zu bytes: %s", cap, strerror(err));
        return err == ENOMEM ? PCL_ERR_NOMEM : PCL_ERR_SYSTEM;
    }
    /* Kept out of swap and core dumps. */
    if (mlock(na, cap) != 0) {
        error_f("mlock %zu bytes: %s (RLIMIT_MEMLOCK?)", cap,
                strerror(errno));
        (void)munmap(na, cap);
        return PCL_ERR_SYSTEM;
    }
#ifdef MADV_DONTDUMP
    (void)madvise(na, cap, MADV_DONTDUMP);
#endif
    if (m->arena_len > 0) {
        memcpy(na, m->arena, m->arena_len);
    }
    arena_free(m->arena, m->arena_cap);
    m->arena = na;
    m->arena_cap = cap;
    return PCL_OK;
}

int
pcl_mask_add_secret(struct pcl_mask *m, const char *name,
                    const uint8_t *secret, size_t len,
                    const char *replacement)
{
    struct rule *r;
    int rc = PCL_ERR_INVAL;

    if (!valid_name(name) || secret == NULL || replacement == NULL ||
        len < SECRET_MIN || len > HOLD_MAX) {
        goto out;
    }
    rc = rules_reserve(m);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = arena_reserve(m, m->arena_len + len);
    if (rc != PCL_OK) {
        goto out;
    }
    r = &m->rules[m->nrules];
    rc = rule_init(r, RULE_SECRET, name, replacement);
    if (rc != PCL_OK) {
        goto out;
    }
    memcpy(m->arena + m->arena_len, secret, len);
    r->rare = pcl_mask_rarest(secret, len);
    r->secret_off = m->arena_len;
    r->secret_len = len;
    m->arena_len += len;
    note_expansion(m, len, r->repl_len);
    m->nrules++;
out:
    return rc;
}

/* ------------------------------------------------------------ matching */

/* The first hit of r at or after pos, with pcre2 options opts. */
static void
regex_find(struct pcl_mask *m, struct rule *r, struct hit *h, size_t pos,
           uint32_t opts)
{
    PCRE2_SIZE *ov;
    PCRE2_UCHAR msg[128];
    int n;

    h->kind = HIT_NONE;
    while (pos < m->win_len) {
        if (r->jit) {
            n = pcre2_jit_match(r->code, m->win, m->win_len, pos, opts, m->md,
                                m->mctx);
        } else {
            n = pcre2_match(r->code, m->win, m->win_len, pos, opts, m->md,
                            m->mctx);
        }
        ov = pcre2_get_ovector_pointer(m->md);
        if (n == PCRE2_ERROR_PARTIAL) {
            h->kind = HIT_PARTIAL;
            h->from = ov[0];
            h->start = ov[0];
            h->end = m->win_len;
            return;
        }
        if (n == PCRE2_ERROR_NOMATCH) {
            return;
        }
        if (n < 0) {
            /* Match or JIT stack limit: a pathological pattern on hostile
             * output. Skipping the rest of the window keeps the session
             * going; the rule name (never data) is logged once. */
            if (!r->error_logged) {
                (void)pcre2_get_error_message(n, msg, sizeof(msg));
                error_f("rule %s: %s", r->name, (const char *)msg);
                r->error_logged = true;
            }
            return;
        }
        h->from = pcre2_get_startchar(m->md);
        h->start = ov[0];
        h->end = ov[1];
        if (h->end > h->start) {
            h->kind = HIT_FULL;
            return;
        }
        /* An empty match (\K at the end) replaces nothing: look further. */
        h->kind = HIT_NONE;
        pos = h->from + 1;
    }
}

/*
 * The first hit of r at or after pos. With partial matching, attempts
 * that start more than r->reach bytes before the end cannot touch it:
 * they are searched without partial matching, which is much faster.
 */
static void
regex_search(struct pcl_mask *m, struct rule *r, struct hit *h, size_t pos,
             bool partial)
{
    size_t tail = m->win_len > r->reach ? m->win_len - r->reach : 0;

    if (!partial) {
        regex_find(m, r, h, pos, 0);
        return;
    }
    if (pos < tail) {
        regex_find(m, r, h, pos, 0);
        if (h->kind == HIT_FULL && h->from < tail) {
            return;
        }
        pos = tail;
    }
    /* Every attempt that can still hit the end starts with the prefix,
     * whole or cut by the end: skip to its first copy, or to the first
     * tail that begins it, or (none) there is no hit. */
    if (r->prefix_len > 0) {
        size_t end = m->win_len;
        const uint8_t *o = NULL;

        if (end - pos >= r->prefix_len) {
            o = pcl_mask_find_literal(m->win + pos, end - pos, r->prefix,
                                      r->prefix_len, r->rare,
                                      r->prefix_caseless);
        }
        if (o != NULL) {
            pos = (size_t)(o - m->win);
        } else {
            if (end - pos >= r->prefix_len) {
                pos = end - r->prefix_len + 1;
            }
            while (pos < end &&
                   !pcl_mask_literal_eq(m->win + pos, r->prefix, end - pos,
                                        r->prefix_caseless)) {
                pos++;
            }
            if (pos == end) {
                h->kind = HIT_NONE;
                return;
            }
        }
    }
    regex_find(m, r, h, pos, PCRE2_PARTIAL_HARD);
}

static void
secret_search(struct pcl_mask *m, struct rule *r, struct hit *h, size_t pos,
              bool partial)
{
    const uint8_t *s = m->arena + r->secret_off;
    size_t n = r->secret_len;
    size_t end = m->win_len;
    const uint8_t *p;
    size_t q;

    h->kind = HIT_NONE;
    if (pos >= end) {
        return;
    }
    p = pcl_mask_find_literal(m->win + pos, end - pos, s, n, r->rare, false);
    if (p != NULL) {
        h->kind = HIT_FULL;
        h->from = (size_t)(p - m->win);
        h->start = h->from;
        h->end = h->from + n;
        return;
    }
    if (!partial) {
        return;
    }
    /* No complete copy: the earliest suffix that begins the secret. */
    q = end - pos >= n ? end - n + 1 : pos;
    while (q < end) {
        p = memchr(m->win + q, s[0], end - q);
        if (p == NULL) {
            return;
        }
        q = (size_t)(p - m->win);
        if (memcmp(m->win + q, s, end - q) == 0) {
            h->kind = HIT_PARTIAL;
            h->from = q;
            h->start = q;
            h->end = end;
            return;
        }
        q++;
    }
}

static int
emit_plain(struct pcl_mask *m, size_t from, size_t to, pcl_mask_sink sink,
           void *ctx)
{
    if (to <= from) {
        return PCL_OK;
    }
    return sink(ctx, m->win + from, to - from, NULL);
}

static int
emit_match(struct pcl_mask *m, size_t pos, const struct hit *h,
           const struct rule *r, pcl_mask_sink sink, void *ctx)
{
    int rc = emit_plain(m, pos, h->start, sink, ctx);

    if (rc != PCL_OK) {
        return rc;
    }
    m->count++;
    return sink(ctx, (const uint8_t *)r->repl, r->repl_len, r->name);
}

/*
 * One pass from *pos. partial: stop at the first byte that could start a
 * match (or at win_len). Otherwise (forced): complete matches only,
 * release everything before limit. Returns 0 or the sink's error.
 */
static int
pass(struct pcl_mask *m, size_t *pos, size_t limit, bool partial,
     pcl_mask_sink sink, void *ctx)
{
    size_t end = m->win_len;
    size_t i;
    int rc = PCL_OK;

    for (i = 0; i < m->nrules; i++) {
        m->hits[i].kind = HIT_UNKNOWN;
    }
    while (*pos < limit) {
        struct hit *best = NULL;
        size_t bi = 0;
        size_t hold = SIZE_MAX;

        for (i = 0; i < m->nrules; i++) {
            struct hit *h = &m->hits[i];

            if (h->kind == HIT_UNKNOWN ||
                (h->kind != HIT_NONE && h->from < *pos)) {
                if (m->rules[i].kind == RULE_REGEX) {
                    regex_search(m, &m->rules[i], h, *pos, partial);
                } else {
                    secret_search(m, &m->rules[i], h, *pos, partial);
                }
            }
            if (h->kind == HIT_PARTIAL) {
                if (h->from < hold) {
                    hold = h->from;
                }
            } else if (h->kind == HIT_FULL) {
                if (best == NULL || h->start < best->start ||
                    (h->start == best->start && h->end > best->end)) {
                    best = h;
                    bi = i;
                }
            }
        }
        if (partial && hold != SIZE_MAX &&
            (best == NULL || hold <= best->start)) {
            /* A complete match whose attempt began before the hold
             * point (\K) must be found again by the next pass: hold from
             * where it began (unless that is further back than any match
             * may be long). */
            for (i = 0; i < m->nrules; i++) {
                const struct hit *h = &m->hits[i];
                if (h->kind == HIT_FULL && h->from < hold &&
                    end - h->from <= 2 * (size_t)HOLD_MAX) {
                    hold = h->from;
                }
            }
            /* Partial matches start in the last reach (<= HOLD_MAX) bytes:
             * what is held stays bounded, and the window never fills. */
            assert(end - hold <= 2 * (size_t)HOLD_MAX);
            rc = emit_plain(m, *pos, hold, sink, ctx);
            *pos = hold;
            goto out;
        }
        /* Forced: a match whose attempt began before limit is known
         * complete; one that begins later waits for the next pass. */
        if (best == NULL || best->from >= limit) {
            rc = emit_plain(m, *pos, limit, sink, ctx);
            *pos = limit;
            goto out;
        }
        rc = emit_match(m, *pos, best, &m->rules[bi], sink, ctx);
        if (rc != PCL_OK) {
            goto out;
        }
        *pos = best->end;
    }
out:
    return rc;
}

/* Drops arrival times of released bytes. */
static void
segs_trim(struct pcl_mask *m)
{
    size_t k = 0;

    while (k < m->nsegs && m->segs[k].end <= m->stream_off) {
        k++;
    }
    if (k > 0) {
        memmove(m->segs, m->segs + k, (m->nsegs - k) * sizeof(m->segs[0]));
        m->nsegs -= k;
    }
}

/* Records that the stream grew by n bytes at now_ms. */
static void
segs_add(struct pcl_mask *m, size_t n, uint64_t now_ms)
{
    uint64_t end = m->stream_off + (m->win_len - m->ctx_len) + n;

    if (m->nsegs > 0 && m->segs[m->nsegs - 1].t_ms == now_ms) {
        m->segs[m->nsegs - 1].end = end;
        return;
    }
    if (m->nsegs == SEG_MAX) {
        /* Merge the two oldest: their bytes take the older time, so the
         * deadline can only come early. */
        m->segs[1].t_ms = m->segs[0].t_ms;
        memmove(m->segs, m->segs + 1, (SEG_MAX - 1) * sizeof(m->segs[0]));
        m->nsegs--;
    }
    m->segs[m->nsegs].end = end;
    m->segs[m->nsegs].t_ms = now_ms;
    m->nsegs++;
}

/*
 * Scans the window: releases up to force_to with complete matches only
 * (force_to <= ctx_len: nothing forced), then what partial matching can
 * release; then moves the held bytes and the context to the front.
 */
static int
scan(struct pcl_mask *m, size_t force_to, pcl_mask_sink sink, void *ctx)
{
    size_t pos = m->ctx_len;
    size_t keep;
    size_t drop;
    int rc = PCL_OK;

    if (force_to > pos) {
        rc = pass(m, &pos, force_to, false, sink, ctx);
        if (rc != PCL_OK) {
            goto out;
        }
    }
    rc = pass(m, &pos, m->win_len, true, sink, ctx);
    if (rc != PCL_OK) {
        goto out;
    }
    /* Keep the context, move the held bytes to the front. */
    keep = pos < CTX_KEEP ? pos : CTX_KEEP;
    drop = pos - keep;
    m->stream_off += pos - m->ctx_len;
    if (drop > 0) {
        memmove(m->win, m->win + drop, m->win_len - drop);
        m->win_len -= drop;
    }
    m->ctx_len = keep;
    segs_trim(m);
out:
    if (rc != PCL_OK) {
        m->failed = rc;
    }
    return rc;
}

/* With no rules nothing is held: bytes go straight through, and the
 * context is kept in case rules are added later. */
static int
feed_direct(struct pcl_mask *m, const uint8_t *buf, size_t len,
            pcl_mask_sink sink, void *ctx)
{
    size_t keep;
    int rc;

    rc = sink(ctx, buf, len, NULL);
    if (rc != PCL_OK) {
        m->failed = rc;
        return rc;
    }
    if (len >= CTX_KEEP) {
        memcpy(m->win, buf + len - CTX_KEEP, CTX_KEEP);
        m->win_len = CTX_KEEP;
    } else {
        keep = m->win_len + len > CTX_KEEP ? CTX_KEEP - len : m->win_len;
        memmove(m->win, m->win + m->win_len - keep, keep);
        memcpy(m->win + keep, buf, len);
        m->win_len = keep + len;
    }
    m->ctx_len = m->win_len;
    m->stream_off += len;
    return PCL_OK;
}

int
pcl_mask_feed(struct pcl_mask *m, const uint8_t *buf, size_t len,
              uint64_t now_ms, pcl_mask_sink sink, void *ctx)
{
    size_t n;
    int rc = m->failed;

    if (rc != PCL_OK || len == 0) {
        goto out;
    }
    if (m->nrules == 0 && m->win_len == m->ctx_len) {
        rc = feed_direct(m, buf, len, sink, ctx);
        goto out;
    }
    while (len > 0) {
        n = WIN_CAP - m->win_len;
        if (n > len) {
            n = len;
        }
        segs_add(m, n, now_ms);
        memcpy(m->win + m->win_len, buf, n);
        m->win_len += n;
        rc = scan(m, 0, sink, ctx);
        if (rc != PCL_OK) {
            goto out;
        }
        buf += n;
        len -= n;
    }
out:
    return rc;
}

int
pcl_mask_flush(struct pcl_mask *m, uint64_t now_ms, bool final,
               pcl_mask_sink sink, void *ctx)
{
    size_t force_to = m->win_len;
    uint64_t upto = m->stream_off;
    size_t i;
    int rc = m->failed;

    if (rc != PCL_OK || m->win_len == m->ctx_len) {
        goto out;
    }
    if (!final) {
        for (i = 0; i < m->nsegs; i++) {
            if (m->segs[i].t_ms + m->holdback_ms > now_ms) {
                break;
            }
            upto = m->segs[i].end;
        }
        if (upto <= m->stream_off) {
            goto out;
        }
        force_to = m->ctx_len + (size_t)(upto - m->stream_off);
        if (force_to > m->win_len) {
            force_to = m->win_len;
        }
    }
    rc = scan(m, force_to, sink, ctx);
out:
    return rc;
}

int
pcl_mask_due(const struct pcl_mask *m, uint64_t now_ms)
{
    uint64_t deadline;

    if (m->win_len == m->ctx_len || m->nsegs == 0) {
        return -1;
    }
    deadline = m->segs[0].t_ms + m->holdback_ms;
    if (deadline <= now_ms) {
        return 0;
    }
    if (deadline - now_ms > INT_MAX) {
        return INT_MAX;
    }
    return (int)(deadline - now_ms);
}

uint64_t
pcl_mask_count(const struct pcl_mask *m)
{
    return m->count;
}

size_t
pcl_mask_accept(const struct pcl_mask *m, size_t room)
{
    size_t held = m->win_len - m->ctx_len;
    size_t n = room / m->expand;

    return n > held ? n - held : 0;
}
