/* SPDX-License-Identifier: BSD-2-Clause */
/* The passprompt half of mask.h: input masking after a password prompt. */
#include "config.h"

#include "portcullis/mask.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"

#define PROMPT_TAIL 256

/*
 * The default: a word such as password, passphrase or PIN, anything on the
 * same line (the user, the key file), then a colon. PROMPT_END anchors it
 * to the end of the output seen so far, allowing blanks and one line
 * break after the colon.
 */
#define PROMPT_DEFAULT \
    "(?i)\\b(?:password|pass ?phrase|passcode|pin)\\b[^\\r\\n]{0,128}:"
#define PROMPT_END "[ \\t]*(?:\\r*\\n|\\r)?[ \\t]*\\z"

enum prompt_state {
    PROMPT_IDLE,
    PROMPT_SEEN,      /* output ends with a prompt, no input yet */
    PROMPT_ANSWERING, /* input is masked up to CR or LF */
};

struct pcl_passprompt {
    pcre2_code *code;
    pcre2_match_data *md;
    uint8_t tail[PROMPT_TAIL];
    size_t tail_len;
    enum prompt_state state;
};

int
pcl_passprompt_new(const char *pattern, struct pcl_passprompt **out,
                   char *why, size_t whylen)
{
    struct pcl_passprompt *p = NULL;
    pcre2_code *check = NULL;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE erroff = 0;
    char *full = NULL;
    size_t flen;
    int errcode = 0;
    int rc = PCL_ERR_NOMEM;

    *out = NULL;
    pcl_err_why(why, whylen, "no error");
    if (pattern == NULL) {
        pattern = PROMPT_DEFAULT;
    }
    /* Compiled alone first: a pattern with an unbalanced ")" could
     * otherwise escape the group below. */
    check = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                          PCRE2_NEVER_UTF, &errcode, &erroff, NULL);
    if (check == NULL) {
        if (errcode != PCRE2_ERROR_NOMEMORY) {
            (void)pcre2_get_error_message(errcode, msg, sizeof(msg));
            pcl_err_why(why, whylen, "passprompt: invalid pattern at offset "
                    "%zu: %s", (size_t)erroff, (const char *)msg);
            rc = PCL_ERR_CONFIG;
        }
        goto out;
    }
    flen = strlen(pattern) + sizeof("(?:)" PROMPT_END);
    full = malloc(flen);
    if (full == NULL) {
        goto out;
    }
    snprintf(full, flen, "(?:%s)%s", pattern, PROMPT_END);
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        goto out;
    }
    p->code = pcre2_compile((PCRE2_SPTR)full, PCRE2_ZERO_TERMINATED,
                            PCRE2_NEVER_UTF, &errcode, &erroff, NULL);
    if (p->code == NULL) {
        if (errcode != PCRE2_ERROR_NOMEMORY) {
            (void)pcre2_get_error_message(errcode, msg, sizeof(msg));
            pcl_err_why(why, whylen, "passprompt: invalid pattern: %s",
                    (const char *)msg);
            rc = PCL_ERR_CONFIG;
        }
        goto out;
    }
    (void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
    p->md = pcre2_match_data_create(1, NULL);
    if (p->md == NULL) {
        goto out;
    }
    *out = p; /* transfer ownership */
    p = NULL;
    rc = PCL_OK;
out:
    pcre2_code_free(check);
    free(full);
    pcl_passprompt_free(p);
    return rc;
}

void
pcl_passprompt_free(struct pcl_passprompt *p)
{
    if (p == NULL) {
        return;
    }
    pcre2_code_free(p->code);
    pcre2_match_data_free(p->md);
    explicit_bzero(p->tail, sizeof(p->tail));
    free(p);
}

void
pcl_passprompt_output(struct pcl_passprompt *p, const uint8_t *buf,
                      size_t len)
{
    size_t keep;
    int n;

    if (len == 0) {
        return;
    }
    if (len >= PROMPT_TAIL) {
        memcpy(p->tail, buf + len - PROMPT_TAIL, PROMPT_TAIL);
        p->tail_len = PROMPT_TAIL;
    } else {
        keep = p->tail_len + len > PROMPT_TAIL ? PROMPT_TAIL - len
                                               : p->tail_len;
        memmove(p->tail, p->tail + p->tail_len - keep, keep);
        memcpy(p->tail + keep, buf, len);
        p->tail_len = keep + len;
    }
    /* While an answer is typed, output (echoed asterisks, say) does not
     * end it: only CR or LF on input does. */
    if (p->state == PROMPT_ANSWERING) {
        return;
    }
    n = pcre2_match(p->code, p->tail, p->tail_len, 0, 0, p->md, NULL);
    p->state = n >= 0 ? PROMPT_SEEN : PROMPT_IDLE;
}

bool
pcl_passprompt_input(struct pcl_passprompt *p, uint8_t *buf, size_t len)
{
    bool masked = false;
    size_t i;

    for (i = 0; i < len && p->state != PROMPT_IDLE; i++) {
        p->state = PROMPT_ANSWERING;
        if (buf[i] == '\r' || buf[i] == '\n') {
            /* Answered. The prompt stays in the tail, so forget it: the
             * echoed line break must not look like a new prompt. */
            p->state = PROMPT_IDLE;
            p->tail_len = 0;
        } else {
            buf[i] = '*';
            masked = true;
        }
    }
    return masked;
}
