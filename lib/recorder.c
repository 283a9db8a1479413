/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/recorder.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portcullis/err.h"
#include "portcullis/log.h"
#include "portcullis/mask.h"

struct pcl_recorder {
    struct pcl_cast *cast;
    struct pcl_mask *mask[2];      /* [0] stdout, [1] stderr */
    struct pcl_passprompt *pp;     /* NULL unless input is recorded */
    bool record_input;
    bool continue_on_error;
    bool failed;
    pcl_relay_deliver deliver;     /* mask-live: to the user's screen */
    void *relay;
    uint64_t t0_us;                /* CLOCK_MONOTONIC at the start */
    uint64_t masked;
    uint8_t *inbuf;                /* input copy for in-place masking */
    size_t inbuf_cap;
    struct pcl_relay_tap tap;
};

/* What a mask sink needs: the recorder, the stream and the time. */
struct sink_ctx {
    struct pcl_recorder *r;
    int stream;
    uint64_t t_us;
};

static uint64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
elapsed_us(const struct pcl_recorder *r)
{
    return mono_us() - r->t0_us;
}

/*
 * A failed write ends the session (-1 to the relay), unless on-error =
 * continue was configured: then it is reported once and the session goes
 * on unrecorded.
 */
static int
failure(struct pcl_recorder *r)
{
    if (!r->failed) {
        r->failed = true;
        error("recording %s: write failed%s", pcl_cast_path(r->cast),
              r->continue_on_error ? "; on-error = continue: the session "
                                     "goes on unrecorded"
                                   : "; ending the session");
    }
    return r->continue_on_error ? 0 : -1;
}

static int
mask_sink(void *vctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct sink_ctx *s = vctx;
    struct pcl_recorder *r = s->r;
    char label[160];

    if (!r->failed) {
        if (rule != NULL) {
            r->masked++;
            snprintf(label, sizeof(label), "mask:%.140s", rule);
            if (pcl_cast_marker(r->cast, label, s->t_us) != PCL_OK &&
                failure(r) < 0) {
                return -1;
            }
        }
        if (!r->failed &&
            pcl_cast_output(r->cast, s->stream, buf, len, s->t_us) !=
                PCL_OK &&
            failure(r) < 0) {
            return -1;
        }
    } else if (!r->continue_on_error) {
        return -1;
    }
    /* Recorded first, then shown (mask-live). */
    if (r->deliver != NULL && len > 0 &&
        r->deliver(r->relay, s->stream == 2 ? PCL_RELAY_STDERR
                                            : PCL_RELAY_STDOUT,
                   buf, len) < 0) {
        return -1;
    }
    return 0;
}

static int
tap_data(void *ctx, enum pcl_relay_stream stream, const uint8_t *buf,
         size_t len)
{
    struct pcl_recorder *r = ctx;
    struct sink_ctx s = { r, stream == PCL_RELAY_STDERR ? 2 : 1,
                          elapsed_us(r) };
    int rc;

    if (r->failed && !r->continue_on_error) {
        return -1;
    }
    if (stream == PCL_RELAY_STDIN) {
        if (!r->record_input || r->failed) {
            return 0;
        }
        if (len > r->inbuf_cap) {
            uint8_t *n = realloc(r->inbuf, len);
            if (n == NULL) {
                return failure(r);
            }
            r->inbuf = n;
            r->inbuf_cap = len;
        }
        memcpy(r->inbuf, buf, len);
        if (r->pp != NULL && pcl_passprompt_input(r->pp, r->inbuf, len)) {
            r->masked++;
            if (pcl_cast_marker(r->cast, "mask:passprompt", s.t_us) !=
                PCL_OK) {
                return failure(r);
            }
        }
        rc = pcl_cast_input(r->cast, r->inbuf, len, s.t_us);
        explicit_bzero(r->inbuf, len);
        return rc == PCL_OK ? 0 : failure(r);
    }
    if (r->pp != NULL) {
        pcl_passprompt_output(r->pp, buf, len);
    }
    rc = pcl_mask_feed(r->mask[s.stream - 1], buf, len, s.t_us / 1000,
                       mask_sink, &s);
    return rc < 0 ? -1 : 0;
}

static int
tap_resize(void *ctx, int cols, int rows)
{
    struct pcl_recorder *r = ctx;

    if (r->failed) {
        return r->continue_on_error ? 0 : -1;
    }
    if (pcl_cast_resize(r->cast, cols, rows, elapsed_us(r)) != PCL_OK) {
        return failure(r);
    }
    return 0;
}

/* The mask's deadlines run on the session clock, in milliseconds. */
static int
tap_due(void *ctx, uint64_t now_ms)
{
    struct pcl_recorder *r = ctx;
    uint64_t t_ms = elapsed_us(r) / 1000;
    int due = pcl_cast_due(r->cast, now_ms);
    int i;

    for (i = 0; i < 2; i++) {
        int m = pcl_mask_due(r->mask[i], t_ms);
        if (m >= 0 && (due < 0 || m < due)) {
            due = m;
        }
    }
    return due;
}

static int
tap_tick(void *ctx, uint64_t now_ms)
{
    struct pcl_recorder *r = ctx;
    uint64_t t_us = elapsed_us(r);
    int i;

    if (r->failed && !r->continue_on_error) {
        return -1;
    }
    for (i = 0; i < 2; i++) {
        struct sink_ctx s = { r, i + 1, t_us };
        if (pcl_mask_flush(r->mask[i], t_us / 1000, false, mask_sink, &s) <
            0) {
            return -1;
        }
    }
    if (!r->failed && pcl_cast_due(r->cast, now_ms) == 0 &&
        pcl_cast_flush(r->cast, false) != PCL_OK) {
        return failure(r);
    }
    return 0;
}

/* mask-live: what the relay can take of a stream, given the room toward
 * the user (the mask's held bytes and replacements count against it). */
static size_t
tap_accept(void *ctx, enum pcl_relay_stream stream, size_t room)
{
    struct pcl_recorder *r = ctx;

    return pcl_mask_accept(r->mask[stream == PCL_RELAY_STDERR], room);
}

static void
tap_bind(void *ctx, pcl_relay_deliver deliver, void *relay)
{
    struct pcl_recorder *r = ctx;

    r->deliver = deliver;
    r->relay = relay;
}

/* mask-live: the target ended a stream; what the mask holds goes out (and
 * into the recording) now, not at finish, when nobody is listening. */
static int
tap_eof(void *ctx, enum pcl_relay_stream stream)
{
    struct pcl_recorder *r = ctx;
    int i = stream == PCL_RELAY_STDERR ? 1 : 0;
    uint64_t t_us = elapsed_us(r);
    struct sink_ctx s = { r, i + 1, t_us };

    if (r->failed && !r->continue_on_error) {
        return -1;
    }
    return pcl_mask_flush(r->mask[i], t_us / 1000, true, mask_sink, &s) < 0
               ? -1
               : 0;
}

void
pcl_recorder_free(struct pcl_recorder *r)
{
    if (r == NULL) {
        return;
    }
    pcl_cast_abort(r->cast);
    pcl_mask_free(r->mask[0]);
    pcl_mask_free(r->mask[1]);
    pcl_passprompt_free(r->pp);
    free(r->inbuf);
    free(r);
}

static int
build_mask(const struct pcl_recorder_params *p, struct pcl_mask **out,
           char *why, size_t whylen)
{
    size_t i;
    int rc;

    rc = pcl_mask_new(p->mask_holdback_ms, out);
    if (rc != PCL_OK) {
        snprintf(why, whylen, "out of memory");
        return rc;
    }
    if (p->builtin_rules) {
        rc = pcl_mask_add_builtin(*out);
        if (rc != PCL_OK) {
            snprintf(why, whylen, "built-in mask rules: %s",
                     pcl_err_str(rc));
            return rc;
        }
    }
    for (i = 0; i < p->nrules; i++) {
        rc = pcl_mask_add_rule(*out, p->rules[i].name, p->rules[i].pattern,
                               p->rules[i].replacement, why, whylen);
        if (rc != PCL_OK) {
            return rc;
        }
    }
    return PCL_OK;
}

/* Collects the filtered text of a header value. */
struct text_sink {
    char *buf;
    size_t len;
    size_t cap;
    bool nomem;
};

static int
text_sink(void *ctx, const uint8_t *buf, size_t len, const char *rule)
{
    struct text_sink *t = ctx;

    (void)rule;
    if (t->len + len + 1 > t->cap) {
        size_t ncap = (t->len + len + 1) * 2;
        char *n = realloc(t->buf, ncap);
        if (n == NULL) {
            t->nomem = true;
            return -1;
        }
        t->buf = n;
        t->cap = ncap;
    }
    memcpy(t->buf + t->len, buf, len);
    t->len += len;
    t->buf[t->len] = '\0';
    return 0;
}

/* The header's command is masked like output: a password typed on the
 * command line (mysql -pSECRET) must not reach the recording either.
 * Returns a new string (caller frees) or NULL when out of memory. */
static char *
mask_text(struct pcl_mask *m, const char *text)
{
    struct text_sink t = { NULL, 0, 0, false };

    if (text_sink(&t, (const uint8_t *)"", 0, NULL) != 0 ||
        pcl_mask_feed(m, (const uint8_t *)text, strlen(text), 0, text_sink,
                      &t) < 0 ||
        pcl_mask_flush(m, 0, true, text_sink, &t) < 0 || t.nomem) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

int
pcl_recorder_new(const struct pcl_recorder_params *p,
                 struct pcl_recorder **out, char *why, size_t whylen)
{
    struct pcl_recorder *r;
    int rc;
    int i;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(why, whylen, "out of memory");
        return PCL_ERR_NOMEM;
    }
    r->t0_us = mono_us();
    r->record_input = p->record_input;
    r->continue_on_error = p->continue_on_error;
    for (i = 0; i < 2; i++) {
        rc = build_mask(p, &r->mask[i], why, whylen);
        if (rc != PCL_OK) {
            goto out;
        }
    }
    if (p->record_input) {
        rc = pcl_passprompt_new(p->passprompt, &r->pp, why, whylen);
        if (rc != PCL_OK) {
            goto out;
        }
    }
    {
        struct pcl_cast_params cp = p->cast;
        struct pcl_cast_meta meta[32];
        char *masked[32] = { NULL };
        size_t k;

        if (cp.nmeta > 32) {
            snprintf(why, whylen, "too many header fields");
            rc = PCL_ERR_INVAL;
            goto out;
        }
        for (k = 0; k < cp.nmeta; k++) {
            meta[k] = cp.meta[k];
            if (meta[k].value != NULL && strcmp(meta[k].key, "command") == 0) {
                /* An engine of its own: the command must not become
                 * context for the first bytes of output. */
                struct pcl_mask *hm = NULL;
                uint64_t before;
                rc = build_mask(p, &hm, why, whylen);
                if (rc != PCL_OK) {
                    pcl_mask_free(hm);
                    break;
                }
                before = pcl_mask_count(hm);
                masked[k] = mask_text(hm, meta[k].value);
                r->masked += pcl_mask_count(hm) - before;
                pcl_mask_free(hm);
                if (masked[k] == NULL) {
                    snprintf(why, whylen, "out of memory");
                    rc = PCL_ERR_NOMEM;
                    break;
                }
                meta[k].value = masked[k];
            }
        }
        cp.meta = meta;
        if (rc == PCL_OK) {
            rc = pcl_cast_open(&cp, &r->cast, why, whylen);
        }
        for (k = 0; k < cp.nmeta; k++) {
            free(masked[k]);
        }
        if (rc != PCL_OK) {
            goto out;
        }
    }
    r->tap.data = tap_data;
    r->tap.resize = tap_resize;
    r->tap.due = tap_due;
    r->tap.tick = tap_tick;
    r->tap.ctx = r;
    if (p->mask_live) {
        r->tap.accept = tap_accept;
        r->tap.bind = tap_bind;
        r->tap.eof = tap_eof;
    }
    *out = r; /* transfer ownership */
    r = NULL;
out:
    pcl_recorder_free(r);
    return rc;
}

int
pcl_recorder_add_secret(struct pcl_recorder *r, const char *name,
                        const uint8_t *secret, size_t len)
{
    int i;
    int rc;

    for (i = 0; i < 2; i++) {
        rc = pcl_mask_add_secret(r->mask[i], name, secret, len, "****");
        if (rc != PCL_OK) {
            return rc;
        }
    }
    return PCL_OK;
}

const struct pcl_relay_tap *
pcl_recorder_tap(struct pcl_recorder *r)
{
    return &r->tap;
}

int
pcl_recorder_marker(struct pcl_recorder *r, const char *label)
{
    if (r->failed) {
        return r->continue_on_error ? PCL_OK : PCL_ERR_IO;
    }
    if (pcl_cast_marker(r->cast, label, elapsed_us(r)) != PCL_OK) {
        return failure(r) == 0 ? PCL_OK : PCL_ERR_IO;
    }
    return PCL_OK;
}

bool
pcl_recorder_failed(const struct pcl_recorder *r)
{
    return r->failed;
}

uint64_t
pcl_recorder_masked(const struct pcl_recorder *r)
{
    return r->masked;
}

int
pcl_recorder_finish(struct pcl_recorder *r, int status, const char *signame)
{
    uint64_t t_us = elapsed_us(r);
    int rc = PCL_OK;
    int i;

    for (i = 0; i < 2 && !r->failed; i++) {
        struct sink_ctx s = { r, i + 1, t_us };
        (void)pcl_mask_flush(r->mask[i], t_us / 1000, true, mask_sink, &s);
    }
    if (r->failed ||
        pcl_cast_exit(r->cast, status, signame, t_us) != PCL_OK) {
        rc = PCL_ERR_IO;
    }
    if (rc == PCL_OK) {
        rc = pcl_cast_close(r->cast);
    } else {
        pcl_cast_abort(r->cast);
    }
    r->cast = NULL;
    pcl_recorder_free(r);
    return rc;
}
