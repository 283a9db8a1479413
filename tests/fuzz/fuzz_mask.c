/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the mask engine (lib/mask.c) fed in arbitrary chunks.
 *
 * Input: byte 0 picks the rules (bit 0 the built-in set, bit 1 a table of
 * custom rules with \K, lookbehind, \b and long matches, bit 2 an exact
 * secret); byte 1 the number of split points (0-15), then two bytes per
 * split point (offsets into the stream); with bit 2, one length byte and
 * the secret (4-67 bytes); the rest is the stream.
 *
 * pcl_mask_new promises that the output does not depend on how the stream
 * is cut into feeds while no holdback expires: the stream fed whole and
 * fed in pieces (same time for every feed, one final flush) must give the
 * same bytes, the same rule names in the same order and the same count.
 * A second engine with the secret alone must never let the secret through
 * (its replacement holds no byte of it). The sudo-style input masking is
 * fed the same stream as output and as input. */
#include "config.h"

#include "fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/buf.h"
#include "portcullis/mask.h"

static const struct {
    const char *name, *pattern, *replacement;
} custom[] = {
    { "kv", "(?i)password=\\K\\S+", "***" },
    { "look", "(?<=token:)[A-Za-z0-9]{8,40}", "<token>" },
    { "word", "\\bsecret\\b", "" },
    { "block", "BEGIN[^\\n]{0,200}END", "[block]" },
    { "ab", "a{3,}b", "X" },
    { "start", "^hello", "bye" },
};

/* What a sink saw: every byte, and the rule names in order. */
struct seen {
    uint8_t *bytes;
    size_t len, cap;
    char rules[4096];
    size_t rlen;
    bool overflow;
};

static int
sink(void *ctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct seen *s = ctx;

    if (len > 0) {
        if (s->len + len > s->cap) {
            size_t cap = (s->len + len) * 2;
            uint8_t *nb = realloc(s->bytes, cap);

            if (nb == NULL) {
                return -1;
            }
            s->bytes = nb;
            s->cap = cap;
        }
        memcpy(s->bytes + s->len, buf, len);
        s->len += len;
    }
    if (rule != NULL) {
        size_t n = strlen(rule) + 1;

        if (s->rlen + n > sizeof(s->rules)) {
            s->overflow = true;
        } else {
            memcpy(s->rules + s->rlen, rule, n);
            s->rlen += n;
        }
    }
    return 0;
}

static struct pcl_mask *
engine(unsigned sel, const uint8_t *secret, size_t slen)
{
    struct pcl_mask *m = NULL;
    size_t i;

    if (pcl_mask_new(100, &m) != 0) {
        return NULL;
    }
    if ((sel & 1) && pcl_mask_add_builtin(m) != 0) {
        abort();
    }
    if (sel & 2) {
        for (i = 0; i < sizeof(custom) / sizeof(custom[0]); i++) {
            if (pcl_mask_add_rule(m, custom[i].name, custom[i].pattern,
                                  custom[i].replacement, NULL, 0) != 0) {
                abort();
            }
        }
    }
    if ((sel & 4) &&
        pcl_mask_add_secret(m, "secret", secret, slen, "********") != 0) {
        /* Only RLIMIT_MEMLOCK can refuse a valid secret. */
        pcl_mask_free(m);
        return NULL;
    }
    return m;
}

/* Feeds data cut at the sorted offsets cuts[0..ncut), then a final flush. */
static void
run(struct pcl_mask *m, const uint8_t *data, size_t len, const size_t *cuts,
    size_t ncut, struct seen *s)
{
    size_t at = 0, i;

    for (i = 0; i <= ncut; i++) {
        size_t end = i < ncut ? cuts[i] : len;

        if (end < at) {
            abort();
        }
        if (pcl_mask_feed(m, data + at, end - at, 0, sink, s) != 0) {
            abort();
        }
        at = end;
        /* Not yet due: nothing may leave for its age alone. */
        if (pcl_mask_flush(m, 0, false, sink, s) != 0) {
            abort();
        }
    }
    if (pcl_mask_flush(m, 0, true, sink, s) != 0) {
        abort();
    }
    if (pcl_mask_due(m, 0) != -1) {
        abort();
    }
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

static void
passprompt(const uint8_t *data, size_t len)
{
    struct pcl_passprompt *p = NULL;
    uint8_t *copy;
    size_t i, step;

    if (pcl_passprompt_new(NULL, &p, NULL, 0) != 0) {
        abort();
    }
    copy = malloc(len > 0 ? len : 1);
    if (copy != NULL) {
        memcpy(copy, data, len);
        step = len / 4 + 1;
        for (i = 0; i < len; i += step) {
            size_t n = len - i < step ? len - i : step;

            pcl_passprompt_output(p, data + i, n);
            (void)pcl_passprompt_input(p, copy + i, n);
        }
        free(copy);
    }
    pcl_passprompt_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen whole = { 0 }, split = { 0 }, alone = { 0 };
    struct pcl_mask *a = NULL, *b = NULL, *c = NULL;
    const uint8_t *secret = NULL, *stream;
    size_t cuts[16], ncut, slen = 0, len, i;
    unsigned sel;

    if (size < 2) {
        return 0;
    }
    sel = data[0] & 7;
    ncut = data[1] & 15;
    if (size < 2 + 2 * ncut) {
        return 0;
    }
    stream = data + 2 + 2 * ncut;
    len = size - 2 - 2 * ncut;
    if (sel & 4) {
        if (len < 1 || len < 1 + 4 + (size_t)(stream[0] & 63)) {
            return 0;
        }
        slen = 4 + (size_t)(stream[0] & 63);
        secret = stream + 1;
        stream += 1 + slen;
        len -= 1 + slen;
    }
    for (i = 0; i < ncut; i++) {
        size_t v = (size_t)data[2 + 2 * i] << 8 | data[3 + 2 * i];

        cuts[i] = len > 0 ? v % (len + 1) : 0;
    }
    qsort(cuts, ncut, sizeof(cuts[0]), cmp_size);

    a = engine(sel, secret, slen);
    b = engine(sel, secret, slen);
    if (a == NULL || b == NULL) {
        goto out;
    }
    run(a, stream, len, NULL, 0, &whole);
    run(b, stream, len, cuts, ncut, &split);
    if (whole.len != split.len ||
        (whole.len > 0 && memcmp(whole.bytes, split.bytes, whole.len) != 0) ||
        whole.rlen != split.rlen ||
        memcmp(whole.rules, split.rules, whole.rlen) != 0 ||
        pcl_mask_count(a) != pcl_mask_count(b)) {
        abort();
    }

    if (secret != NULL && memchr(secret, '*', slen) == NULL) {
        c = engine(4, secret, slen);
        if (c != NULL) {
            run(c, stream, len, cuts, ncut, &alone);
            if (alone.len >= slen &&
                memmem(alone.bytes, alone.len, secret, slen) != NULL) {
                abort();
            }
        }
    }
    passprompt(stream, len);
out:
    pcl_mask_free(a);
    pcl_mask_free(b);
    pcl_mask_free(c);
    free(whole.bytes);
    free(split.bytes);
    free(alone.bytes);
    return 0;
}
