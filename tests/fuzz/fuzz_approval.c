/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the untrusted text and values of just-in-time approval
 * (lib/approval.c, lib/parse.c): a requester's reason, an approver's
 * comment and the command are shown to other users through
 * pcl_approval_escape and written to the audit log through
 * pcl_utf8_clean; "approve ID --for DURATION" goes through
 * pcl_parse_seconds. Checks: the escaped text holds only printable ASCII,
 * fits and is terminated, and (when not cut) decodes back to the input
 * byte for byte; the cleaned text is valid UTF-8 and as long as the input
 * when the input was; parsed values stay in their documented ranges. */
#include "config.h"

#include "fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/approval.h"
#include "portcullis/parse.h"

/* Decodes pcl_approval_escape's output; returns its length, or -1. */
static long
unescape(const char *e, char *out)
{
    long n = 0;

    while (*e != '\0') {
        if (*e != '\\') {
            out[n++] = *e++;
        } else if (e[1] == '\\') {
            out[n++] = '\\';
            e += 2;
        } else if (e[1] == 'x' && e[2] != '\0' && e[3] != '\0') {
            char hex[3] = { e[2], e[3], '\0' };

            out[n++] = (char)strtoul(hex, NULL, 16);
            e += 4;
        } else {
            return -1;
        }
    }
    return n;
}

static void
check_escape(const char *s, size_t len, size_t dstlen)
{
    char *dst = malloc(dstlen);
    char *back = malloc(dstlen + 1);
    size_t i, n;

    if (dst == NULL || back == NULL) {
        goto out;
    }
    memset(dst, 'Z', dstlen);
    pcl_approval_escape(dst, dstlen, s);
    n = strnlen(dst, dstlen);
    if (n == dstlen) {
        abort(); /* not terminated */
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)dst[i];

        if (c < 0x20 || c >= 0x7f) {
            abort();
        }
    }
    /* Not cut: the escaping is undone exactly. */
    if (len * 4 + 1 <= dstlen) {
        long m = unescape(dst, back);

        if (m < 0 || (size_t)m != len || memcmp(back, s, len) != 0) {
            abort();
        }
    }
out:
    free(dst);
    free(back);
}

static int
count_item(const char *item, void *ctx)
{
    (void)item;
    (*(unsigned *)ctx)++;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *clean;
    unsigned u, items = 0;
    bool b;
    size_t len, i;

    s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    len = strlen(s);

    check_escape(s, len, 1);
    check_escape(s, len, 5);
    check_escape(s, len, 64);
    check_escape(s, len, len * 4 + 1);

    clean = pcl_utf8_clean(s);
    if (clean != NULL) {
        bool valid = true;

        for (i = 0; clean[i] != '\0';) {
            size_t l = pcl_utf8_len((const unsigned char *)clean + i);

            if (l == 0) {
                abort();
            }
            i += l;
        }
        for (i = 0; s[i] != '\0';) {
            size_t l = pcl_utf8_len((const unsigned char *)s + i);

            if (l == 0) {
                valid = false;
                break;
            }
            i += l;
        }
        if (valid && strcmp(clean, s) != 0) {
            abort();
        }
        free(clean);
    }

    if (pcl_parse_seconds(s, &u) == 0 && u > 86400) {
        abort();
    }
    if (pcl_parse_millis(s, &u) == 0 && u > 3600000) {
        abort();
    }
    if (pcl_parse_uint(s, 127, &u) == 0 && u > 127) {
        abort();
    }
    (void)pcl_parse_bool(s, &b);
    (void)pcl_parse_list(s, count_item, &items);
    free(s);
    return 0;
}
