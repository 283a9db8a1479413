/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the mask filter learns from a pattern's text before matching: how
 * far one attempt can look, and the literal every match starts with; plus
 * a fast literal search. Private to lib/mask.c.
 */
#include "config.h"

#include "mask_pattern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/mask.h"

#define HOLD_MAX PCL_MASK_MATCH_MAX

/*
 * How common a byte is in terminal output, roughly (0-255). Literal search
 * looks for a needle's rarest byte with memchr, which is vectorised, and
 * checks the rest there: much faster than memmem when the first byte is
 * a common letter.
 */
static unsigned
byte_rank(uint8_t c)
{
    static const char common[] = " etaonisrhldcum-.0123456789fpgwyb/:\r\n";

    if (c == 0 || c >= 0x80) {
        return 0;
    }
    if (strchr(common, c) != NULL) {
        return 255 - (unsigned)(strchr(common, c) - common);
    }
    if (c >= 'A' && c <= 'Z') {
        return 100;
    }
    if (c >= 'a' && c <= 'z') {
        return 120;
    }
    return 50;
}

size_t
pcl_mask_rarest(const uint8_t *needle, size_t n)
{
    size_t best = 0;
    size_t i;

    for (i = 1; i < n; i++) {
        if (byte_rank(needle[i]) < byte_rank(needle[best])) {
            best = i;
        }
    }
    return best;
}

/* PCRE2's default tables fold ASCII letters only. */
static uint8_t
fold(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

bool
pcl_mask_literal_eq(const uint8_t *a, const uint8_t *needle, size_t n,
                    bool caseless)
{
    size_t i;

    if (!caseless) {
        return memcmp(a, needle, n) == 0;
    }
    for (i = 0; i < n; i++) {
        if (fold(a[i]) != needle[i]) {
            return false;
        }
    }
    return true;
}

/* The first of c (and its other case) in [p, last], or NULL. */
static const uint8_t *
find_byte(const uint8_t *p, const uint8_t *last, uint8_t c, bool caseless,
          const uint8_t **other)
{
    const uint8_t *a = memchr(p, c, (size_t)(last - p) + 1);
    uint8_t uc = c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;

    if (!caseless || uc == c) {
        return a;
    }
    /* The other case's next position (last + 1: none) is remembered
     * between calls, so each memchr runs over the haystack once. */
    if (*other == NULL || *other < p) {
        *other = memchr(p, uc, (size_t)(last - p) + 1);
        if (*other == NULL) {
            *other = last + 1;
        }
    }
    if (a == NULL) {
        return *other <= last ? *other : NULL;
    }
    return *other < a ? *other : a;
}

const uint8_t *
pcl_mask_find_literal(const uint8_t *hay, size_t n, const uint8_t *needle,
                      size_t nlen, size_t rare, bool caseless)
{
    const uint8_t *p = hay + rare;
    const uint8_t *other = NULL; /* not searched yet */
    const uint8_t *last;

    if (nlen == 0 || n < nlen) {
        return NULL;
    }
    last = hay + (n - nlen) + rare; /* where needle[rare] may be, at most */
    while (p <= last) {
        p = find_byte(p, last, needle[rare], caseless, &other);
        if (p == NULL) {
            return NULL;
        }
        if (pcl_mask_literal_eq(p - rare, needle, nlen, caseless)) {
            return p - rare;
        }
        p++;
    }
    return NULL;
}

/*
 * How far can one match attempt look from where it starts? If at most R
 * bytes, an attempt that starts more than R bytes before the end of the
 * data cannot touch the end, so its result is final without partial
 * matching. Hard partial matching turns off PCRE2's best start-of-match
 * optimisations (required byte, minimum length) and costs up to ten times
 * as much, so only the last R bytes of the window are scanned that way.
 *
 * This walks the pattern text for the common syntax: literals, escapes,
 * classes, groups, lookarounds, alternation and bounded quantifiers. It
 * is conservative: anything it does not know (backreferences, recursion,
 * verbs, \Q, extended mode) makes the answer HOLD_MAX, which is always
 * correct since no match may be longer than that.
 */

#define REACH_CAP ((size_t)HOLD_MAX + 1)
#define REACH_DEPTH 32

struct span {
    size_t len;   /* bytes consumed, at most */
    size_t reach; /* bytes looked at from the start, at most */
};

struct rx {
    const char *p;
    size_t i;
    bool bad;
};

static size_t
sat_add(size_t a, size_t b)
{
    return a >= REACH_CAP || b >= REACH_CAP || a + b >= REACH_CAP
               ? REACH_CAP
               : a + b;
}

static size_t
sat_mul(size_t a, size_t k)
{
    if (a == 0 || k == 0) {
        return 0;
    }
    return a >= REACH_CAP || k >= REACH_CAP || a > REACH_CAP / k
               ? REACH_CAP
               : a * k;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static struct span rx_alt(struct rx *x, int depth);

/* Reads n in "{n", "{n,", "{n,m}"; returns false when this is no
 * quantifier (PCRE2 then takes "{" literally). */
static bool
rx_braces(struct rx *x, size_t *max)
{
    const char *p = x->p + x->i;
    size_t j = 1;
    size_t n = 0;
    size_t m;

    if (!is_digit(p[j])) {
        return false;
    }
    while (is_digit(p[j])) {
        n = sat_add(sat_mul(n, 10), (size_t)(p[j] - '0'));
        j++;
    }
    m = n;
    if (p[j] == ',') {
        j++;
        m = REACH_CAP;
        if (is_digit(p[j])) {
            m = 0;
            while (is_digit(p[j])) {
                m = sat_add(sat_mul(m, 10), (size_t)(p[j] - '0'));
                j++;
            }
        }
    }
    if (p[j] != '}') {
        return false;
    }
    x->i += j + 1;
    *max = m;
    return true;
}

/* One escape after the backslash at x->i. */
static struct span
rx_escape(struct rx *x)
{
    struct span one = { 1, 1 };
    struct span none = { 0, 0 };
    char c = x->p[x->i + 1];
    int k;

    if (c == '\0') {
        x->bad = true;
        x->i++;
        return one;
    }
    x->i += 2;
    switch (c) {
    case 'b':
    case 'B':
    case 'z':
        none.reach = 1;
        return none;
    case 'Z':
        none.reach = 2;
        return none;
    case 'A':
    case 'G':
    case 'K':
    case 'E':
        return none;
    case 'R':
        one.len = 2;
        one.reach = 2;
        return one;
    case 'x':
    case 'o':
    case 'p':
    case 'P':
        if (x->p[x->i] == '{') {
            while (x->p[x->i] != '\0' && x->p[x->i] != '}') {
                x->i++;
            }
            if (x->p[x->i] == '\0') {
                x->bad = true;
            } else {
                x->i++;
            }
        } else if (c == 'x') {
            for (k = 0; k < 2 && is_hex(x->p[x->i]); k++) {
                x->i++;
            }
        } else if (c == 'o' || x->p[x->i] == '\0') {
            x->bad = true;
        } else {
            x->i++;
        }
        return one;
    case 'c':
        if (x->p[x->i] == '\0') {
            x->bad = true;
        } else {
            x->i++;
        }
        return one;
    case 'N':
        if (x->p[x->i] == '{') {
            x->bad = true;
        }
        return one;
    case '0':
        for (k = 0; k < 2 && x->p[x->i] >= '0' && x->p[x->i] <= '7'; k++) {
            x->i++;
        }
        return one;
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S':
    case 'h':
    case 'H':
    case 'v':
    case 'V':
    case 'a':
    case 'e':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'C':
        return one;
    default:
        /* Backreferences, \g, \k, \Q, \X and the like. */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            is_digit(c) || c == '\0') {
            x->bad = true;
        }
        return one;
    }
}

/* A class from "[" to its "]". */
static void
rx_class(struct rx *x)
{
    const char *p = x->p;
    size_t i = x->i + 1;

    if (p[i] == '^') {
        i++;
    }
    if (p[i] == ']') {
        i++;
    }
    while (p[i] != '\0' && p[i] != ']') {
        if (p[i] == '\\') {
            if (p[i + 1] == '\0' || p[i + 1] == 'Q') {
                x->bad = true;
                return;
            }
            i += 2;
        } else if (p[i] == '[' && p[i + 1] == ':') {
            const char *e = strstr(p + i + 2, ":]");
            if (e == NULL) {
                x->bad = true;
                return;
            }
            i = (size_t)(e - p) + 2;
        } else {
            i++;
        }
    }
    if (p[i] != ']') {
        x->bad = true;
        return;
    }
    x->i = i + 1;
}

/* Option letters in "(?i)" or "(?i:". Extended mode (x) changes what
 * blanks and "#" mean, which this walk does not follow: not accepted. */
static bool
rx_flags(struct rx *x, size_t j)
{
    while (x->p[j] != '\0' && x->p[j] != ')' && x->p[j] != ':') {
        if (strchr("imnsJU-^", x->p[j]) == NULL) {
            return false;
        }
        j++;
    }
    if (x->p[j] == '\0') {
        return false;
    }
    x->i = j;
    return true;
}

/* A group from "(" through its ")". */
static struct span
rx_group(struct rx *x, int depth)
{
    const char *p = x->p;
    struct span s = { 0, 0 };
    bool look = false;

    x->i++;
    if (p[x->i] == '*') {
        x->bad = true;
        return s;
    }
    if (p[x->i] == '?') {
        const char *g = p + x->i + 1;
        if (g[0] == '#') {
            while (p[x->i] != '\0' && p[x->i] != ')') {
                x->i++;
            }
            if (p[x->i] == '\0') {
                x->bad = true;
            } else {
                x->i++;
            }
            return s;
        } else if (g[0] == ':' || g[0] == '>' || g[0] == '|') {
            x->i += 2;
        } else if (g[0] == '=' || g[0] == '!') {
            x->i += 2;
            look = true;
        } else if (g[0] == '<' && (g[1] == '=' || g[1] == '!')) {
            x->i += 3;
            look = true;
        } else if ((g[0] == '<' || g[0] == '\'') ||
                   (g[0] == 'P' && g[1] == '<')) {
            char close = g[0] == '\'' ? '\'' : '>';
            while (p[x->i] != '\0' && p[x->i] != close) {
                x->i++;
            }
            if (p[x->i] == '\0') {
                x->bad = true;
                return s;
            }
            x->i++;
        } else if (rx_flags(x, x->i + 1)) {
            if (p[x->i] == ')') {
                x->i++;
                return s;
            }
            x->i++;
        } else {
            x->bad = true;
            return s;
        }
    }
    s = rx_alt(x, depth + 1);
    if (p[x->i] != ')') {
        x->bad = true;
        return s;
    }
    x->i++;
    if (look) {
        /* Lookarounds consume nothing but look (behind: conservatively,
         * as far as their content). */
        s.len = 0;
    }
    return s;
}

/* A sequence up to "|", ")" or the end. */
static struct span
rx_seq(struct rx *x, int depth)
{
    struct span seq = { 0, 0 };

    while (!x->bad && x->p[x->i] != '\0' && x->p[x->i] != '|' &&
           x->p[x->i] != ')') {
        struct span a = { 1, 1 };
        char c = x->p[x->i];
        bool quant;
        size_t max;

        if (c == '(') {
            a = rx_group(x, depth);
        } else if (c == '[') {
            rx_class(x);
        } else if (c == '\\') {
            a = rx_escape(x);
        } else if (c == '^') {
            a.len = 0;
            a.reach = 0;
            x->i++;
        } else if (c == '$') {
            a.len = 0;
            a.reach = 2;
            x->i++;
        } else {
            x->i++;
        }
        /* Quantifier, then its lazy or possessive mark. */
        c = x->p[x->i];
        max = 1;
        quant = true;
        if (c == '?') {
            x->i++;
        } else if (c == '*' || c == '+') {
            max = REACH_CAP;
            x->i++;
        } else if (c != '{' || !rx_braces(x, &max)) {
            quant = false;
        }
        if (quant && (x->p[x->i] == '?' || x->p[x->i] == '+')) {
            x->i++;
        }
        if (max != 1) {
            a.reach = max == 0 ? 0 : sat_add(sat_mul(a.len, max - 1),
                                             a.reach);
            a.len = sat_mul(a.len, max);
        }
        if (sat_add(seq.len, a.reach) > seq.reach) {
            seq.reach = sat_add(seq.len, a.reach);
        }
        seq.len = sat_add(seq.len, a.len);
    }
    return seq;
}

static struct span
rx_alt(struct rx *x, int depth)
{
    struct span best = { 0, 0 };

    if (depth > REACH_DEPTH) {
        x->bad = true;
        return best;
    }
    for (;;) {
        struct span s = rx_seq(x, depth);
        if (s.len > best.len) {
            best.len = s.len;
        }
        if (s.reach > best.reach) {
            best.reach = s.reach;
        }
        if (x->bad || x->p[x->i] != '|') {
            break;
        }
        x->i++;
    }
    return best;
}

/* True when pattern has a "|" outside any group or class. */
static bool
top_level_alternation(const char *p)
{
    int depth = 0;
    size_t i;

    for (i = 0; p[i] != '\0'; i++) {
        if (p[i] == '\\') {
            if (p[i + 1] == '\0') {
                return true;
            }
            i++;
        } else if (p[i] == '[') {
            struct rx x = { p, i, false };
            rx_class(&x);
            if (x.bad) {
                return true;
            }
            i = x.i - 1;
        } else if (p[i] == '(') {
            depth++;
        } else if (p[i] == ')') {
            depth--;
        } else if (p[i] == '|' && depth == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The literal bytes every match starts with come after leading zero-width
 * assertions (\b, lookbehinds). Option settings and top-level alternation
 * are not followed: no prefix then.
 */
size_t
pcl_mask_pattern_prefix(const char *pattern, uint8_t *prefix, bool *caseless)
{
    struct rx x = { pattern, 0, false };
    size_t n = 0;

    *caseless = false;
    if (top_level_alternation(pattern)) {
        return 0;
    }
    /* "(?i)" first: the whole pattern is caseless. */
    if (strncmp(pattern, "(?i)", 4) == 0) {
        *caseless = true;
        x.i = 4;
    }
    /* Zero-width assertions first. */
    for (;;) {
        const char *q = pattern + x.i;
        if (q[0] == '^' || (q[0] == '\\' && (q[1] == 'b' || q[1] == 'A'))) {
            x.i += q[0] == '^' ? 1 : 2;
        } else if (q[0] == '(' && q[1] == '?' &&
                   (q[2] == ':' || q[2] == '<') && q[3] != '\0') {
            size_t at = x.i;
            struct span s = rx_group(&x, 0);
            if (x.bad || s.len != 0 || s.reach == 0) {
                /* Consumes bytes, or option-like: not an assertion. */
                x.i = at;
                break;
            }
        } else {
            break;
        }
    }
    if (x.bad) {
        return 0;
    }
    while (n < PCL_MASK_PREFIX_MAX) {
        const char *q = pattern + x.i;
        uint8_t c;
        size_t adv;

        if (q[0] == '\0' || strchr("^$.[|()?*+{", q[0]) != NULL) {
            break;
        }
        if (q[0] == '\\') {
            if (q[1] == 'x' && is_hex(q[2]) && is_hex(q[3])) {
                c = (uint8_t)strtoul((const char[]){ q[2], q[3], '\0' },
                                     NULL, 16);
                adv = 4;
            } else if (q[1] != '\0' && strchr("\\.-/:=@#%&!~'\"<>,;_ []{}()"
                                              "*+?|^$", q[1]) != NULL) {
                c = (uint8_t)q[1];
                adv = 2;
            } else {
                break;
            }
        } else {
            c = (uint8_t)q[0];
            adv = 1;
        }
        /* A quantified byte is not fixed (nor is "{" that starts a
         * quantifier). */
        if (q[adv] == '?' || q[adv] == '*' || q[adv] == '+' ||
            q[adv] == '{' || (*caseless && c >= 0x80)) {
            break;
        }
        prefix[n++] = *caseless ? fold(c) : c;
        x.i += adv;
    }
    return n;
}

/* One more than the span's reach: the attempt's own byte counts. */
size_t
pcl_mask_pattern_reach(const char *pattern)
{
    struct rx x = { pattern, 0, false };
    struct span s = rx_alt(&x, 0);

    if (x.bad || x.p[x.i] != '\0' || s.reach >= HOLD_MAX) {
        return HOLD_MAX;
    }
    return s.reach + 1;
}
