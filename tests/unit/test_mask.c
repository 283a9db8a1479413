/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the mask filter: golden cases fed whole, cut at every
 * offset, byte by byte and at random; cut invariance of tricky patterns
 * and of random rule sets; exact secrets; refused rules; holdback by time;
 * bounds; random data passing through; passprompt. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/err.h"
#include "portcullis/mask.h"

#define DATA_DIR TEST_SRCDIR "/tests/data/mask"
#define HOLDBACK_MS 1000

/* ------------------------------------------------------------ helpers */

/* What a sink received: the bytes, and the rule names one per line. */
struct capture {
    uint8_t *data;
    size_t len;
    size_t cap;
    char *marks;
    size_t marks_len;
    size_t marks_cap;
    int calls;
    int fail_at; /* the call that fails (1-based), 0: none */
};

static void
append(uint8_t **dst, size_t *len, size_t *cap, const void *src, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*len + n + 1) * 2;
        *dst = realloc(*dst, nc);
        assert_non_null(*dst);
        *cap = nc;
    }
    if (n > 0) {
        memcpy(*dst + *len, src, n);
    }
    *len += n;
    (*dst)[*len] = '\0';
}

static int
capture_sink(void *vctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct capture *c = vctx;

    c->calls++;
    if (c->fail_at != 0 && c->calls >= c->fail_at) {
        return PCL_ERR_IO;
    }
    append(&c->data, &c->len, &c->cap, buf, len);
    if (rule != NULL) {
        append((uint8_t **)&c->marks, &c->marks_len, &c->marks_cap, rule,
               strlen(rule));
        append((uint8_t **)&c->marks, &c->marks_len, &c->marks_cap, "\n", 1);
    }
    return 0;
}

static void
capture_reset(struct capture *c)
{
    free(c->data);
    free(c->marks);
    memset(c, 0, sizeof(*c));
}

/* Deterministic xorshift64*, so failures reproduce. */
static uint64_t
prng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint8_t chunk[4096];
    size_t n;

    *len = 0;
    if (fp == NULL) {
        fail_msg("cannot open %s", path);
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        append(&buf, len, &cap, chunk, n);
    }
    fclose(fp);
    if (buf == NULL) {
        buf = calloc(1, 1);
        assert_non_null(buf);
    }
    return buf;
}

/*
 * Adds the rules of a golden case: "builtin", or name TAB pattern TAB
 * replacement (the replacement may be empty), one per line. Tests (not
 * golden files) also write "=name TAB secret TAB replacement" for an exact
 * secret.
 */
static struct pcl_mask *
engine_from_rules(const char *rules, unsigned holdback_ms)
{
    struct pcl_mask *m = NULL;
    char *copy = strdup(rules);
    char *line;
    char *save = NULL;
    char why[256];

    assert_non_null(copy);
    assert_int_equal(pcl_mask_new(holdback_ms, &m), PCL_OK);
    for (line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *pattern;
        char *repl;

        if (strcmp(line, "builtin") == 0) {
            assert_int_equal(pcl_mask_add_builtin(m), PCL_OK);
            continue;
        }
        pattern = strchr(line, '\t');
        assert_non_null(pattern);
        *pattern++ = '\0';
        repl = strchr(pattern, '\t');
        assert_non_null(repl);
        *repl++ = '\0';
        if (line[0] == '=') {
            assert_int_equal(pcl_mask_add_secret(m, line + 1,
                                                 (const uint8_t *)pattern,
                                                 strlen(pattern), repl),
                             PCL_OK);
        } else if (pcl_mask_add_rule(m, line, pattern, repl, why,
                                     sizeof(why)) != PCL_OK) {
            fail_msg("rule %s: %s", line, why);
        }
    }
    free(copy);
    return m;
}

/*
 * Feeds input to m in pieces of sizes[0], sizes[1], ... (cycling), with a
 * flush that has nothing to release yet after each piece, then the final
 * flush; frees m.
 */
static void
feed_sizes(struct pcl_mask *m, const uint8_t *input, size_t len,
           const size_t *sizes, size_t nsizes, struct capture *out)
{
    size_t pos = 0;
    size_t k = 0;

    while (pos < len) {
        size_t n = sizes[k++ % nsizes];
        if (n > len - pos) {
            n = len - pos;
        }
        assert_int_equal(pcl_mask_feed(m, input + pos, n, 0, capture_sink,
                                       out), 0);
        assert_int_equal(pcl_mask_flush(m, HOLDBACK_MS - 1, false,
                                        capture_sink, out), 0);
        pos += n;
    }
    assert_int_equal(pcl_mask_flush(m, 0, true, capture_sink, out), 0);
    assert_int_equal(pcl_mask_due(m, 0), -1);
    pcl_mask_free(m);
}

/* The same through a new engine with rules (see engine_from_rules). */
static void
run_sizes(const char *rules, const uint8_t *input, size_t len,
          const size_t *sizes, size_t nsizes, struct capture *out)
{
    feed_sizes(engine_from_rules(rules, HOLDBACK_MS), input, len, sizes,
               nsizes, out);
}

/*
 * Ways to cut an input of len bytes: plan 0 feeds it whole, plans 1 to
 * len - 1 cut it in two at that offset, plan len feeds it byte by byte.
 * Fills sizes, names the plan in what (for failures); returns how many
 * sizes to cycle through.
 */
static size_t
cut_plan(size_t len, size_t plan, size_t sizes[2], const char *name,
         char *what, size_t whatlen)
{
    if (plan == 0) {
        sizes[0] = len;
        snprintf(what, whatlen, "%s (whole)", name);
        return 1;
    }
    if (plan == len) {
        sizes[0] = 1;
        snprintf(what, whatlen, "%s (byte by byte)", name);
        return 1;
    }
    sizes[0] = plan;
    sizes[1] = len - plan;
    snprintf(what, whatlen, "%s (cut at %zu)", name, plan);
    return 2;
}

static void
check_output(const char *what, const struct capture *got,
             const uint8_t *want, size_t want_len, const char *want_marks)
{
    if (got->len != want_len ||
        (want_len > 0 && memcmp(got->data, want, want_len) != 0)) {
        size_t i = 0;
        while (i < got->len && i < want_len && got->data[i] == want[i]) {
            i++;
        }
        fail_msg("%s: output differs at byte %zu (got %zu bytes, expected "
                 "%zu)", what, i, got->len, want_len);
    }
    if (strcmp(got->marks != NULL ? got->marks : "", want_marks) != 0) {
        fail_msg("%s: markers \"%s\", expected \"%s\"", what,
                 got->marks != NULL ? got->marks : "", want_marks);
    }
}

/* ------------------------------------------------------------ golden */

/*
 * tests/data/mask/<case>/: rules (see engine_from_rules), input (bytes,
 * NUL included), expected (the filtered output) and markers (the rule
 * names the sink got, one per line, in order).
 */

static const char *const golden_cases[] = {
    "adjacent",
    "anchors",
    "aws-keys",
    "bearer",
    "colours",
    "empty-replacement",
    "greedy-at-end",
    "jwt",
    "keep-label",
    "mixed",
    "nul-bytes",
    "overlap-leftmost",
    "overlap-longest",
    "plain",
    "private-key-encrypted",
    "private-key-openssh",
    "private-key-pem",
    "private-key-truncated",
    "same-span-first-rule",
    "url-password",
    "vcs-tokens",
    "word-boundary",
};

#define NGOLDEN (sizeof(golden_cases) / sizeof(golden_cases[0]))

struct golden {
    char *rules;
    uint8_t *input;
    size_t input_len;
    uint8_t *expected;
    size_t expected_len;
    char *markers;
};

static void
golden_load(const char *name, struct golden *g)
{
    char path[512];
    size_t n;

    snprintf(path, sizeof(path), "%s/%s/rules", DATA_DIR, name);
    g->rules = (char *)read_file(path, &n);
    snprintf(path, sizeof(path), "%s/%s/input", DATA_DIR, name);
    g->input = read_file(path, &g->input_len);
    snprintf(path, sizeof(path), "%s/%s/expected", DATA_DIR, name);
    g->expected = read_file(path, &g->expected_len);
    snprintf(path, sizeof(path), "%s/%s/markers", DATA_DIR, name);
    g->markers = (char *)read_file(path, &n);
}

static void
golden_free(struct golden *g)
{
    free(g->rules);
    free(g->input);
    free(g->expected);
    free(g->markers);
}

static void
golden_run(const struct golden *g, const char *what, const size_t *sizes,
           size_t nsizes)
{
    struct capture out;

    memset(&out, 0, sizeof(out));
    run_sizes(g->rules, g->input, g->input_len, sizes, nsizes, &out);
    check_output(what, &out, g->expected, g->expected_len, g->markers);
    capture_reset(&out);
}

/* Whole, then cut in two at every offset, then byte by byte. */
static void
test_golden(void **state)
{
    char what[128];
    size_t i;

    (void)state;
    for (i = 0; i < NGOLDEN; i++) {
        struct golden g;
        size_t plan;

        golden_load(golden_cases[i], &g);
        for (plan = 0; plan <= g.input_len; plan++) {
            size_t sizes[2];
            size_t n = cut_plan(g.input_len, plan, sizes, golden_cases[i],
                                what, sizeof(what));
            golden_run(&g, what, sizes, n);
        }
        golden_free(&g);
    }
}

/* Random piece sizes, many cuts per run. */
static void
test_golden_random_cuts(void **state)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char what[128];
    size_t i;
    int r;

    (void)state;
    for (i = 0; i < NGOLDEN; i++) {
        struct golden g;

        golden_load(golden_cases[i], &g);
        for (r = 0; r < 20; r++) {
            size_t sizes[32];
            size_t k;
            for (k = 0; k < 32; k++) {
                sizes[k] = 1 + (size_t)(prng(&seed) % 97);
            }
            snprintf(what, sizeof(what), "%s (random run %d)",
                     golden_cases[i], r);
            golden_run(&g, what, sizes, 32);
        }
        golden_free(&g);
    }
}

/* Every case directory is in the table, so none is skipped silently. */
static void
test_golden_dir_listed(void **state)
{
    DIR *d = opendir(DATA_DIR);
    struct dirent *e;
    size_t seen = 0;
    size_t i;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        bool listed = false;
        if (e->d_name[0] == '.') {
            continue;
        }
        for (i = 0; i < NGOLDEN; i++) {
            if (strcmp(golden_cases[i], e->d_name) == 0) {
                listed = true;
            }
        }
        if (!listed) {
            fail_msg("tests/data/mask/%s is not in golden_cases[]",
                     e->d_name);
        }
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, NGOLDEN);
}

/* ------------------------------------------------------------ invariance */

/*
 * Patterns that exercise how far the filter thinks a match can reach and
 * which literal it must start with: fed whole, cut at every offset and
 * byte by byte, the output must not change.
 */
struct invariance_case {
    const char *rules;
    const char *input;
};

static const struct invariance_case invariance_cases[] = {
    { "la\ta(?=bcd)\t[A]\n", "abcd abc abcdabcd xabc" },
    { "z\tx\\z\t[Z]\n", "x x xx" },
    { "end\tend$\t[E]\n", "end end\nend\n" },
    { "rep\t(?:ab|c){3}\t[R]\n", "ababab cab abccab ccc abc" },
    { "rng\ta{2,5}b\t[R]\n", "aab aaaaaab ab aaaaab" },
    { "lazy\tab??c\t[L]\n", "abc ac abbc" },
    { "unb\t\\d+-\\d+\t[U]\n", "12-34 5-6789- 1234567-1 -1" },
    { "line\t[^\\r\\n]{3,}\\r\\n\t[N]\n", "ab\r\nabc\r\nxyzw\r\n" },
    { "lb\t(?<=ab)cd\t[B]\n", "abcd cd xabcdcd" },
    { "ci\t(?i)Secret\t[S]\n", "SECRET secret sEcReT secre" },
    { "bin\t\\x01\\x02ab\t[0]\n", "x\001\002ab \001\002a" },
    { "opt\t(?:x)?abc\t[O]\n", "xabc abc xab" },
    { "nl\ta\\Rb\t[N]\n", "a\r\nb a\nb a\rb" },
    { "brace\ta{x\t[B]\n", "a{x a{ a{xa{x" },
    { "named\t(?<n>ab)c\t[N]\n", "abc ab abcc" },
    { "cmt\t(?#c)abc\t[C]\n", "abcabc ab" },
    { "dot\t(?s)a.c\t[D]\n", "a\nc abc ac" },
    { "far\ta[^z]{0,100}b\t[F]\n",
      "a.............................................................b "
      "a..........z..b aaaab" },
    { "two\tab\t[1]\nthree\tabc\t[2]\nfour\tbcd\t[3]\n",
      "abcd abc ab bcd abcbcd" },
    { "kk\tkey=\\Kval\t[K]\nv\tval\t[V]\n", "key=val val keyval" },
    { "alt\tcat|category\t[C]\n", "category cat catego" },
    { "cpw\t(?i)\\bpass\\w*=\\K\\S+\t[P]\n",
      "PASSWD=x PaSs=yy pass pAsSword=zzz xpass=no PASS=" },
    { "capi\t(?i)api[_-]?key: \\w+\t[A]\n",
      "API_KEY: a1 Api-Key: b2 apikey: c" },
    { "cnum\t(?i)x-1\\d\t[X]\n", "X-12 x-13 x-1" },
};

static void
test_split_invariance(void **state)
{
    char what[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(invariance_cases) / sizeof(invariance_cases[0]);
         i++) {
        const struct invariance_case *c = &invariance_cases[i];
        const uint8_t *in = (const uint8_t *)c->input;
        size_t len = strlen(c->input);
        struct capture whole;
        char name[32];
        size_t plan;

        memset(&whole, 0, sizeof(whole));
        run_sizes(c->rules, in, len, &len, 1, &whole);
        if (whole.marks == NULL) {
            fail_msg("invariance case %zu: nothing matched", i);
        }
        snprintf(name, sizeof(name), "invariance case %zu", i);
        for (plan = 1; plan <= len; plan++) {
            struct capture out;
            size_t sizes[2];
            size_t n = cut_plan(len, plan, sizes, name, what, sizeof(what));

            memset(&out, 0, sizeof(out));
            run_sizes(c->rules, in, len, sizes, n, &out);
            check_output(what, &out, whole.data, whole.len, whole.marks);
            capture_reset(&out);
        }
        capture_reset(&whole);
    }
}

/*
 * Random rule sets from a pool, random text over a small alphabet so that
 * matches, partial matches and overlaps are frequent: random cuts must give
 * the same output as one piece.
 */
static const char *const pool[] = {
    "ab", "abc", "ba+c", "a.c", "b[ac]{2}x", "c\\b", "\\bab", "x\\Kab",
    "(?:ab|ca){2}", "a(?=bb)", "(?<=x)ab", "cc+", "a{2,4}", "b\\nc",
    "(?i)AB", "c$", "^ab", "ab??c", "x[^x]{0,12}x", "(?:a|b|c){5}",
    "\\d+|x", "b(?!a)", "[abc]{3}\\b", "ax*b", "a\\Kbc", "(?<=ab)c\\Kx",
    "b\\K(?=c)c", "(?:x|xa)\\Kb", "1\\b", "\\bx\\b", "[ab]+\\z",
    "x[^x]{0,40}1", "(?m)^a", "c(?:a|ab|abc)",
};

/* Exact secrets for the same test, over the same alphabet. */
static const char *const pool_secrets[] = { "abca", "xax1", "bbbb", "c c1" };

static void
test_random_rules(void **state)
{
    static const char alphabet[] = "abcx \n1";
    uint64_t seed = 0x7f4a7c159e3779b9ULL;
    int iter;

    (void)state;
    for (iter = 0; iter < 3000; iter++) {
        char rules[512] = "";
        uint8_t input[400];
        size_t len = 1 + (size_t)(prng(&seed) % sizeof(input));
        size_t nrules = 1 + (size_t)(prng(&seed) % 4);
        struct capture whole;
        size_t k;
        int r;

        for (k = 0; k < nrules; k++) {
            size_t used = strlen(rules);
            snprintf(rules + used, sizeof(rules) - used, "r%zu\t%s\t<%zu>\n",
                     k, pool[prng(&seed) % (sizeof(pool) / sizeof(pool[0]))],
                     k);
        }
        if (prng(&seed) % 3 == 0) {
            size_t used = strlen(rules);
            snprintf(rules + used, sizeof(rules) - used, "=s\t%s\t<s>\n",
                     pool_secrets[prng(&seed) % (sizeof(pool_secrets) /
                                                 sizeof(pool_secrets[0]))]);
        }
        for (k = 0; k < len; k++) {
            input[k] = (uint8_t)alphabet[prng(&seed) % (sizeof(alphabet) - 1)];
        }
        memset(&whole, 0, sizeof(whole));
        run_sizes(rules, input, len, &len, 1, &whole);
        for (r = 0; r < 8; r++) {
            struct capture out;
            size_t sizes[16];
            char what[600];

            for (k = 0; k < 16; k++) {
                sizes[k] = 1 + (size_t)(prng(&seed) % (r < 4 ? 5 : 60));
            }
            memset(&out, 0, sizeof(out));
            run_sizes(rules, input, len, sizes, 16, &out);
            snprintf(what, sizeof(what), "random rules %d, run %d: %s", iter,
                     r, rules);
            check_output(what, &out, whole.data, whole.len,
                         whole.marks != NULL ? whole.marks : "");
            capture_reset(&out);
        }
        capture_reset(&whole);
    }
}

/* ------------------------------------------------------------ secrets */

struct secret_case {
    const char *secret;
    size_t secret_len;
    const char *regex; /* added before the secret, or NULL */
    const char *input;
    size_t input_len;
    const char *expected;
    size_t expected_len;
    const char *markers;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct secret_case secret_cases[] = {
    { S("hunter2!"), NULL, S("hunter2!"), S("[V]"), "vault:db01\n" },
    { S("hunter2!"), NULL, S("hunter2!hunter2!"), S("[V][V]"),
      "vault:db01\nvault:db01\n" },
    { S("hunter2!"), NULL, S("login: hunter2!\r\n$ "), S("login: [V]\r\n$ "),
      "vault:db01\n" },
    { S("hunter2!"), NULL, S("hunterhunter2!"), S("hunter[V]"),
      "vault:db01\n" },
    /* A prefix at the very end is released as it is at the end. */
    { S("hunter2!"), NULL, S("xx hunter2"), S("xx hunter2"), "" },
    { S("hunter2!"), NULL, S("hunter2!hunter"), S("[V]hunter"),
      "vault:db01\n" },
    /* Overlapping copies: the leftmost is replaced, then the search goes
     * on after it. */
    { S("abab"), NULL, S("abababab"), S("[V][V]"),
      "vault:db01\nvault:db01\n" },
    { S("abab"), NULL, S("ababab"), S("[V]ab"), "vault:db01\n" },
    /* Binary secrets, NUL included. */
    { S("\0pw\0\x01"), NULL, S("a\0pw\0\x01" "b\0pw\0"), S("a[V]b\0pw\0"),
      "vault:db01\n" },
    /* Against a rule: same start, the longer match wins. */
    { S("hunter2!"), "hunter\\d", S("hunter2! hunter3"), S("[V] [R]"),
      "vault:db01\nregex\n" },
    /* The rule starts first: it wins, and the secret is cut. */
    { S("2!secret"), "hunter\\d", S("hunter2!secret"), S("[R]!secret"),
      "regex\n" },
};

#define NSECRET (sizeof(secret_cases) / sizeof(secret_cases[0]))

/* Secrets hold binary bytes, so the engine is built here rather than
 * from a rules text. */
static void
test_secrets(void **state)
{
    char what[128];
    size_t i;

    (void)state;
    for (i = 0; i < NSECRET; i++) {
        const struct secret_case *c = &secret_cases[i];
        char name[32];
        char rules[64] = "";
        size_t plan;

        if (c->regex != NULL) {
            snprintf(rules, sizeof(rules), "regex\t%s\t[R]\n", c->regex);
        }
        snprintf(name, sizeof(name), "secret case %zu", i);
        for (plan = 0; plan <= c->input_len; plan++) {
            struct pcl_mask *m = engine_from_rules(rules, HOLDBACK_MS);
            struct capture out;
            size_t sizes[2];
            size_t n = cut_plan(c->input_len, plan, sizes, name, what,
                                sizeof(what));

            assert_int_equal(pcl_mask_add_secret(m, "vault:db01",
                                                 (const uint8_t *)c->secret,
                                                 c->secret_len, "[V]"),
                             PCL_OK);
            memset(&out, 0, sizeof(out));
            feed_sizes(m, (const uint8_t *)c->input, c->input_len, sizes, n,
                       &out);
            check_output(what, &out, (const uint8_t *)c->expected,
                         c->expected_len, c->markers);
            capture_reset(&out);
        }
    }
}

static void
test_secret_refused(void **state)
{
    static uint8_t big[PCL_MASK_MATCH_MAX + 1];
    struct pcl_mask *m = NULL;

    (void)state;
    assert_int_equal(pcl_mask_new(0, &m), PCL_OK);
    assert_int_equal(pcl_mask_add_secret(m, "s", (const uint8_t *)"abc", 3,
                                         "*"), PCL_ERR_INVAL);
    assert_int_equal(pcl_mask_add_secret(m, "s", big, sizeof(big), "*"),
                     PCL_ERR_INVAL);
    assert_int_equal(pcl_mask_add_secret(m, "bad name",
                                         (const uint8_t *)"abcd", 4, "*"),
                     PCL_ERR_INVAL);
    assert_int_equal(pcl_mask_add_secret(m, "s", big, sizeof(big) - 1, "*"),
                     PCL_OK);
    /* Many secrets: the locked arena grows and moves. */
    for (int i = 0; i < 64; i++) {
        char s[32];
        snprintf(s, sizeof(s), "secret-number-%d", i);
        assert_int_equal(pcl_mask_add_secret(m, "s", (const uint8_t *)s,
                                             strlen(s), "*"), PCL_OK);
    }
    pcl_mask_free(m);
}

/* ------------------------------------------------------------ refused */

struct refused_case {
    const char *name;
    const char *pattern;
    int rc;
    const char *why;
};

static const struct refused_case refused_cases[] = {
    { "paren", "a(b", PCL_ERR_CONFIG, "missing closing parenthesis" },
    { "star", "a*", PCL_ERR_CONFIG, "can match the empty string" },
    { "look", "(?=x)", PCL_ERR_CONFIG, "can match the empty string" },
    { "alt", "x|", PCL_ERR_CONFIG, "can match the empty string" },
    { "opt", "(?:secret)?", PCL_ERR_CONFIG, "can match the empty string" },
    { "utf", "(*UTF)x", PCL_ERR_CONFIG, "UTF" },
    { "behind", "(?<=a{300})x", PCL_ERR_CONFIG, "lookbehind longer" },
    { "bad name", "x", PCL_ERR_CONFIG, "invalid rule name" },
    { "", "x", PCL_ERR_CONFIG, "invalid rule name" },
};

static void
test_rule_refused(void **state)
{
    struct pcl_mask *m = NULL;
    char why[256];
    size_t i;

    (void)state;
    assert_int_equal(pcl_mask_new(0, &m), PCL_OK);
    for (i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]); i++) {
        const struct refused_case *c = &refused_cases[i];
        int rc = pcl_mask_add_rule(m, c->name, c->pattern, "*", why,
                                   sizeof(why));
        if (rc != c->rc || strstr(why, c->why) == NULL) {
            fail_msg("case %zu (%s): rc %d, why \"%s\"; expected %d, \"%s\"",
                     i, c->pattern, rc, why, c->rc, c->why);
        }
    }
    /* why is optional. */
    assert_int_equal(pcl_mask_add_rule(m, "x", "a(", "*", NULL, 0),
                     PCL_ERR_CONFIG);
    pcl_mask_free(m);
    pcl_mask_free(NULL);
}

/* A rule whose match is empty after \K replaces nothing. */
static void
test_empty_match_skipped(void **state)
{
    static const char input[] = "axbx xx";
    struct capture out;
    size_t whole = sizeof(input) - 1;

    (void)state;
    memset(&out, 0, sizeof(out));
    run_sizes("k\tx\\K\t[K]\nb\tb\t[B]\n", (const uint8_t *)input, whole,
              &whole, 1, &out);
    check_output("\\K at the end", &out, (const uint8_t *)"ax[B]x xx", 9,
                 "b\n");
    capture_reset(&out);
}

/* ------------------------------------------------------------ time */

enum step_op {
    STEP_END = 0,
    STEP_FEED,
    STEP_FLUSH,
    STEP_FINAL,
};

struct time_step {
    enum step_op op;
    uint64_t t_ms;
    const char *data;  /* STEP_FEED */
    const char *out;   /* all output so far */
    int due;           /* pcl_mask_due at t_ms afterwards */
};

struct time_case {
    const char *rule;    /* name TAB pattern TAB replacement */
    unsigned holdback_ms;
    struct time_step steps[8];
};

static const struct time_case time_cases[] = {
    /* A partial match is held, then released unmasked at the deadline;
     * the rest of the secret that comes later is plain. */
    { "s\tsecret\t[S]\n", 100, {
        { STEP_FEED, 1000, "a secr", "a ", 100 },
        { STEP_FLUSH, 1050, NULL, "a ", 50 },
        { STEP_FLUSH, 1100, NULL, "a secr", -1 },
        { STEP_FEED, 1200, "et", "a secret", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* Data that completes the match in time is masked. */
    { "s\tsecret\t[S]\n", 100, {
        { STEP_FEED, 0, "a secr", "a ", 100 },
        { STEP_FEED, 99, "et!", "a [S]!", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* At the deadline the expired bytes are matched as if the data ended
     * there, with what arrived since: the token is masked. */
    { "t\ttoken=\\S+\t[T]\n", 100, {
        { STEP_FEED, 0, "x token=ab", "x ", 100 },
        { STEP_FEED, 50, "cd", "x ", 50 },
        { STEP_FLUSH, 100, NULL, "x [T]", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* The label of a \K rule expired, its value did not: the match is
     * known complete, so it is masked. */
    { "k\tkey=\\K\\w+\t[K]\n", 100, {
        { STEP_FEED, 0, "key=", "", 100 },
        { STEP_FEED, 50, "abc", "", 50 },
        { STEP_FLUSH, 100, NULL, "key=[K]", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* Only expired bytes go: a later partial match keeps its own time. */
    { "s\tsecret\t[S]\n", 100, {
        { STEP_FEED, 0, "sec", "", 100 },
        { STEP_FEED, 60, " xx sec", "sec xx ", 100 },
        { STEP_FLUSH, 100, NULL, "sec xx ", 60 },
        { STEP_FLUSH, 160, NULL, "sec xx sec", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* Two partial matches from different times: the first expires alone. */
    { "l\tabcdefgh\t[L]\ns\tcdX\t[S]\n", 100, {
        { STEP_FEED, 0, "ab", "", 100 },
        { STEP_FEED, 50, "cd", "", 50 },
        { STEP_FLUSH, 100, NULL, "ab", 50 },
        { STEP_FEED, 120, "X", "ab[S]", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* The final flush releases a partial match as it is, and matches a
     * greedy rule up to the end. */
    { "s\tsecret\t[S]\nt\ttoken=\\S+\t[T]\n", 100, {
        { STEP_FEED, 0, "token=xyz secr", "[T] ", 100 },
        { STEP_FINAL, 0, NULL, "[T] secr", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* Nothing held: no deadline. */
    { "s\tsecret\t[S]\n", 100, {
        { STEP_FEED, 0, "plain text.", "plain text.", -1 },
        { STEP_FLUSH, 500, NULL, "plain text.", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
    /* Holdback 0: held bytes are due at once. */
    { "s\tsecret\t[S]\n", 0, {
        { STEP_FEED, 7, "a se", "a ", 0 },
        { STEP_FLUSH, 7, NULL, "a se", -1 },
        { STEP_END, 0, NULL, NULL, 0 } } },
};

static void
test_holdback_time(void **state)
{
    size_t i;
    size_t s;

    (void)state;
    for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
        const struct time_case *c = &time_cases[i];
        struct pcl_mask *m = engine_from_rules(c->rule, c->holdback_ms);
        struct capture out;

        memset(&out, 0, sizeof(out));
        for (s = 0; c->steps[s].op != STEP_END; s++) {
            const struct time_step *st = &c->steps[s];
            int rc = 0;
            int due;

            if (st->op == STEP_FEED) {
                rc = pcl_mask_feed(m, (const uint8_t *)st->data,
                                   strlen(st->data), st->t_ms, capture_sink,
                                   &out);
            } else {
                rc = pcl_mask_flush(m, st->t_ms, st->op == STEP_FINAL,
                                    capture_sink, &out);
            }
            assert_int_equal(rc, 0);
            if (out.len != strlen(st->out) ||
                (out.len > 0 && memcmp(out.data, st->out, out.len) != 0)) {
                fail_msg("time case %zu step %zu: output \"%.*s\", expected "
                         "\"%s\"", i, s, (int)out.len,
                         out.data != NULL ? (char *)out.data : "", st->out);
            }
            due = pcl_mask_due(m, st->t_ms);
            if (due != st->due) {
                fail_msg("time case %zu step %zu: due %d, expected %d", i, s,
                         due, st->due);
            }
        }
        pcl_mask_free(m);
        capture_reset(&out);
    }
}

/* ------------------------------------------------------------ bounds */

/*
 * Held bytes stay bounded whatever the rules: a match that never ends, and
 * a \K match whose attempt began long ago behind a partial match.
 */
struct bound_case {
    const char *rules;
    const char *first; /* fed once */
    const char *tail;  /* ends each 1000-byte chunk of 'c' */
    size_t bound;
};

static const struct bound_case bound_cases[] = {
    { "open\t<[^>]*>\t[O]\n", "<", "c", PCL_MASK_MATCH_MAX },
    { "k\ta[^z]*\\Kb\t[A]\nx\tx.{0,50}y\t[X]\n", "a", "xccb",
      2 * PCL_MASK_MATCH_MAX },
};

static void
test_hold_bounded(void **state)
{
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
        const struct bound_case *c = &bound_cases[i];
        struct pcl_mask *m = engine_from_rules(c->rules, 1000);
        struct capture out;
        uint8_t chunk[1000];
        size_t tl = strlen(c->tail);
        size_t fed = strlen(c->first);

        memset(&out, 0, sizeof(out));
        memset(chunk, 'c', sizeof(chunk));
        memcpy(chunk + sizeof(chunk) - tl, c->tail, tl);
        assert_int_equal(pcl_mask_feed(m, (const uint8_t *)c->first, fed, 0,
                                       capture_sink, &out), 0);
        for (k = 0; k < 40; k++) {
            assert_int_equal(pcl_mask_feed(m, chunk, sizeof(chunk), 0,
                                           capture_sink, &out), 0);
            fed += sizeof(chunk);
            if (fed - out.len > c->bound) {
                fail_msg("bound case %zu: %zu bytes held", i, fed - out.len);
            }
        }
        assert_int_equal(pcl_mask_flush(m, 0, true, capture_sink, &out), 0);
        assert_true(out.len >= fed - 40 * tl);
        pcl_mask_free(m);
        capture_reset(&out);
    }
}

/* A sink error stops the feed and sticks. */
static void
test_sink_error(void **state)
{
    struct pcl_mask *m = engine_from_rules("s\tsecret\t[S]\n", 100);
    struct capture out;

    (void)state;
    memset(&out, 0, sizeof(out));
    out.fail_at = 2;
    assert_int_equal(pcl_mask_feed(m, (const uint8_t *)"a secret b", 10, 0,
                                   capture_sink, &out), PCL_ERR_IO);
    out.fail_at = 0;
    assert_int_equal(pcl_mask_feed(m, (const uint8_t *)"c", 1, 0,
                                   capture_sink, &out), PCL_ERR_IO);
    assert_int_equal(pcl_mask_flush(m, 0, true, capture_sink, &out),
                     PCL_ERR_IO);
    pcl_mask_free(m);
    capture_reset(&out);
}

/* 5 MiB of random bytes through every rule kind: unchanged, in order. */
static void
test_random_passthrough(void **state)
{
    const size_t len = 5 * 1024 * 1024;
    uint8_t *data = malloc(len);
    uint64_t seed = 0x243f6a8885a308d3ULL;
    struct pcl_mask *m;
    struct capture out;
    size_t pos = 0;
    size_t i;

    (void)state;
    assert_non_null(data);
    for (i = 0; i < len; i += 8) {
        uint64_t v = prng(&seed);
        memcpy(data + i, &v, len - i < 8 ? len - i : 8);
    }
    m = engine_from_rules("builtin\npw\t(?i)password\\s*[=:]\\s*\\S+\t*\n"
                          "hex\t\\b[0-9a-f]{32}\\b\t*\n", 1000);
    assert_int_equal(pcl_mask_add_secret(m, "vault",
                                         (const uint8_t *)"c0rrect-h0rse", 13,
                                         "*"), PCL_OK);
    memset(&out, 0, sizeof(out));
    while (pos < len) {
        size_t n = 1 + (size_t)(prng(&seed) % 70000);
        if (n > len - pos) {
            n = len - pos;
        }
        assert_int_equal(pcl_mask_feed(m, data + pos, n, 0, capture_sink,
                                       &out), 0);
        pos += n;
    }
    assert_int_equal(pcl_mask_flush(m, 0, true, capture_sink, &out), 0);
    assert_int_equal(pcl_mask_count(m), 0);
    assert_null(out.marks);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, data, len);
    pcl_mask_free(m);
    capture_reset(&out);
    free(data);
}

/* With no rules the bytes pass straight through; rules added later see
 * the context (\b needs the byte before). */
static void
test_no_rules_then_rule(void **state)
{
    struct pcl_mask *m = NULL;
    struct capture out;
    char why[128];

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(pcl_mask_new(100, &m), PCL_OK);
    assert_int_equal(pcl_mask_feed(m, (const uint8_t *)"abc mon", 7, 0,
                                   capture_sink, &out), 0);
    assert_int_equal(pcl_mask_due(m, 0), -1);
    assert_int_equal(pcl_mask_add_rule(m, "key", "\\bkey\\b", "[K]", why,
                                       sizeof(why)), PCL_OK);
    assert_int_equal(pcl_mask_feed(m, (const uint8_t *)"key key", 7, 0,
                                   capture_sink, &out), 0);
    assert_int_equal(pcl_mask_flush(m, 0, true, capture_sink, &out), 0);
    check_output("rule added later", &out,
                 (const uint8_t *)"abc monkey [K]", 14, "key\n");
    assert_int_equal(pcl_mask_count(m), 1);
    pcl_mask_free(m);
    capture_reset(&out);
}

/* ------------------------------------------------------------ passprompt */

struct pp_step {
    char dir;         /* 'o': output, 'i': input, 0: end */
    const char *data;
    const char *want; /* input as recorded */
    bool masked;
};

struct pp_case {
    const char *pattern; /* NULL: the default */
    struct pp_step steps[8];
};

static const struct pp_case pp_cases[] = {
    /* sudo */
    { NULL, { { 'o', "[sudo] password for alice: ", NULL, false },
              { 'i', "hunter2\r", "*******\r", true },
              { 'o', "\r\n", NULL, false },
              { 'i', "ls\r", "ls\r", false },
              { 0, NULL, NULL, false } } },
    /* ssh: the answer spans reads; after CR the rest is plain */
    { NULL, { { 'o', "alice@db01's password: ", NULL, false },
              { 'i', "s3", "**", true },
              { 'i', "cr\r\nls", "**\r\nls", true },
              { 0, NULL, NULL, false } } },
    { NULL, { { 'o', "Enter passphrase for key '/home/a/.ssh/id_ed25519': ",
                NULL, false },
              { 'i', "pw\n", "**\n", true },
              { 0, NULL, NULL, false } } },
    { NULL, { { 'o', "Enter PIN for 'PIV Card Holder pin': ", NULL, false },
              { 'i', "123456\r", "******\r", true },
              { 0, NULL, NULL, false } } },
    /* the prompt split over two reads */
    { NULL, { { 'o', "Pass", NULL, false },
              { 'o', "word: ", NULL, false },
              { 'i', "x\r", "*\r", true },
              { 0, NULL, NULL, false } } },
    /* a prompt on its own line, then the answer on the next */
    { NULL, { { 'o', "Enter password:\r\n", NULL, false },
              { 'i', "pw\r", "**\r", true },
              { 0, NULL, NULL, false } } },
    /* the prompt went away before any input */
    { NULL, { { 'o', "Password: \r\nsudo: timed out reading password\r\n$ ",
                NULL, false },
              { 'i', "ls\r", "ls\r", false },
              { 0, NULL, NULL, false } } },
    /* not prompts */
    { NULL, { { 'o', "Changing password for alice.\r\n", NULL, false },
              { 'i', "x\r", "x\r", false },
              { 'o', "$ echo password", NULL, false },
              { 'i', "\r", "\r", false },
              { 'o', "opinion: ", NULL, false },
              { 'i', "y\r", "y\r", false },
              { 0, NULL, NULL, false } } },
    /* echoed asterisks (pwfeedback) do not end the answer */
    { NULL, { { 'o', "[sudo] password for a: ", NULL, false },
              { 'i', "a", "*", true },
              { 'o', "*", NULL, false },
              { 'i', "b", "*", true },
              { 'o', "*", NULL, false },
              { 'i', "\r", "\r", false },
              { 'o', "\r\n$ ", NULL, false },
              { 'i', "ls\r", "ls\r", false } } },
    /* the echoed line break after an answer is not a new prompt */
    { NULL, { { 'o', "Password:", NULL, false },
              { 'i', "x\r", "*\r", true },
              { 'o', "\r\n", NULL, false },
              { 'i', "whoami\r", "whoami\r", false },
              { 0, NULL, NULL, false } } },
    /* typed before any prompt */
    { NULL, { { 'i', "ls -l\r", "ls -l\r", false },
              { 0, NULL, NULL, false } } },
    /* a custom pattern replaces the default */
    { "Token:", { { 'o', "Token: ", NULL, false },
                 { 'i', "abc\r", "***\r", true },
                 { 'o', "\r\nPassword: ", NULL, false },
                 { 'i', "x\r", "x\r", false },
                 { 0, NULL, NULL, false } } },
};

static void
test_passprompt(void **state)
{
    size_t i;
    size_t s;

    (void)state;
    for (i = 0; i < sizeof(pp_cases) / sizeof(pp_cases[0]); i++) {
        struct pcl_passprompt *p = NULL;
        char why[256];

        assert_int_equal(pcl_passprompt_new(pp_cases[i].pattern, &p, why,
                                            sizeof(why)), PCL_OK);
        for (s = 0; s < 8 && pp_cases[i].steps[s].dir != 0; s++) {
            const struct pp_step *st = &pp_cases[i].steps[s];
            uint8_t buf[128];
            size_t n = strlen(st->data);
            bool masked;

            if (st->dir == 'o') {
                pcl_passprompt_output(p, (const uint8_t *)st->data, n);
                continue;
            }
            memcpy(buf, st->data, n);
            masked = pcl_passprompt_input(p, buf, n);
            if (masked != st->masked || memcmp(buf, st->want, n) != 0) {
                fail_msg("passprompt case %zu step %zu: \"%.*s\" (%d), "
                         "expected \"%s\" (%d)", i, s, (int)n, (char *)buf,
                         masked, st->want, st->masked);
            }
        }
        pcl_passprompt_free(p);
    }
    pcl_passprompt_free(NULL);
}

/* Output longer than the tail, with the prompt at its end. */
static void
test_passprompt_long_output(void **state)
{
    struct pcl_passprompt *p = NULL;
    uint8_t big[5000];
    uint8_t in[4] = { 'a', 'b', 'c', '\r' };

    (void)state;
    memset(big, 'x', sizeof(big));
    memcpy(big + sizeof(big) - 12, "\r\nPassword: ", 12);
    assert_int_equal(pcl_passprompt_new(NULL, &p, NULL, 0), PCL_OK);
    pcl_passprompt_output(p, big, sizeof(big));
    assert_true(pcl_passprompt_input(p, in, sizeof(in)));
    assert_memory_equal(in, "***\r", 4);
    pcl_passprompt_free(p);
}

static void
test_passprompt_refused(void **state)
{
    static const char *const bad[] = { "a(b", "a)|(b", "(*UTF)x" };
    struct pcl_passprompt *p = NULL;
    char why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pcl_passprompt_new(bad[i], &p, why, sizeof(why)),
                         PCL_ERR_CONFIG);
        assert_null(p);
        assert_non_null(strstr(why, "passprompt: invalid pattern"));
    }
}

/*
 * pcl_mask_accept: feeding what it allows, into a consumer of ROOM bytes
 * that drains at random, never overflows, even with replacements longer
 * than their matches, and every byte of the stream comes out (mask-live).
 */
struct bounded {
    size_t held;   /* bytes the consumer holds now */
    size_t max;    /* most it ever held */
    size_t total;
};

static int
bounded_sink(void *vctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct bounded *b = vctx;

    (void)buf;
    (void)rule;
    b->held += len;
    b->total += len;
    if (b->held > b->max) {
        b->max = b->held;
    }
    return 0;
}

static void
test_accept_bounded(void **state)
{
    enum { ROOM = 4096, STREAM = 300000 };
    static const char wide[] = "<a replacement of forty bytes, or so...>";
    struct pcl_mask *m = NULL;
    struct pcl_mask *ref = NULL;
    struct capture whole;
    struct bounded b = { 0, 0, 0 };
    uint8_t *data = malloc(STREAM);
    bool expired = false;
    size_t off = 0;
    size_t qs = 0;
    size_t i;

    (void)state;
    assert_non_null(data);
    srand(7);
    for (i = 0; i < STREAM; i++) {
        data[i] = "QQxyAKIA0123456789 \n"[rand() % 20];
        qs += data[i] == 'Q';
    }
    assert_int_equal(pcl_mask_new(HOLDBACK_MS, &m), PCL_OK);
    assert_int_equal(pcl_mask_add_builtin(m), PCL_OK);
    assert_int_equal(pcl_mask_add_rule(m, "q", "Q", wide, NULL, 0), PCL_OK);
    assert_int_equal(pcl_mask_add_secret(m, "s", (const uint8_t *)"xy01", 4,
                                         "****************"),
                     PCL_OK);
    /* With nothing held and nothing buffered, some input is accepted. */
    assert_true(pcl_mask_accept(m, ROOM) > 0);
    assert_true(pcl_mask_accept(m, ROOM) <= ROOM);
    while (off < STREAM) {
        size_t n = pcl_mask_accept(m, ROOM - b.held);
        size_t cut = (size_t)(rand() % 700) + 1;
        if (n > cut) {
            n = cut;
        }
        if (n > STREAM - off) {
            n = STREAM - off;
        }
        if (n > 0) {
            assert_int_equal(pcl_mask_feed(m, data + off, n, 0,
                                           bounded_sink, &b),
                             PCL_OK);
            off += n;
        } else if (b.held == 0) {
            /* Only the holdback can free room now. */
            assert_int_equal(pcl_mask_flush(m, 2 * HOLDBACK_MS, false,
                                            bounded_sink, &b),
                             PCL_OK);
            expired = true;
        }
        assert_true(b.held <= ROOM);
        b.held -= b.held > 0 ? (size_t)(rand() % (int)b.held + 1) : 0;
    }
    assert_int_equal(pcl_mask_flush(m, 0, true, bounded_sink, &b), PCL_OK);
    assert_true(b.held <= ROOM);
    assert_true(b.max <= ROOM);
    assert_true(b.total > STREAM - qs + qs * (sizeof(wide) - 1) / 2);
    /* Unless the holdback had to release a partial match, the output is
     * the one of the stream fed whole. */
    memset(&whole, 0, sizeof(whole));
    assert_int_equal(pcl_mask_new(HOLDBACK_MS, &ref), PCL_OK);
    assert_int_equal(pcl_mask_add_builtin(ref), PCL_OK);
    assert_int_equal(pcl_mask_add_rule(ref, "q", "Q", wide, NULL, 0), PCL_OK);
    assert_int_equal(pcl_mask_add_secret(ref, "s", (const uint8_t *)"xy01",
                                         4, "****************"),
                     PCL_OK);
    assert_int_equal(pcl_mask_feed(ref, data, STREAM, 0, capture_sink,
                                   &whole),
                     PCL_OK);
    assert_int_equal(pcl_mask_flush(ref, 0, true, capture_sink, &whole),
                     PCL_OK);
    if (!expired) {
        assert_int_equal(b.total, whole.len);
    }
    capture_reset(&whole);
    pcl_mask_free(ref);
    pcl_mask_free(m);
    free(data);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_random_cuts),
        cmocka_unit_test(test_golden_dir_listed),
        cmocka_unit_test(test_split_invariance),
        cmocka_unit_test(test_random_rules),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_secret_refused),
        cmocka_unit_test(test_rule_refused),
        cmocka_unit_test(test_empty_match_skipped),
        cmocka_unit_test(test_holdback_time),
        cmocka_unit_test(test_hold_bounded),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_random_passthrough),
        cmocka_unit_test(test_no_rules_then_rule),
        cmocka_unit_test(test_accept_bounded),
        cmocka_unit_test(test_passprompt),
        cmocka_unit_test(test_passprompt_long_output),
        cmocka_unit_test(test_passprompt_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
