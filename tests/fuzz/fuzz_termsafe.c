/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the terminal-safety filter of portcullis-replay
 * (lib/termsafe.c), fed in chunks cut where byte 0 says. Checks: each
 * call writes at most len + PCL_TERMSAFE_HOLD bytes (the out buffer it is
 * given has exactly that, so ASan sees more); the output holds no OSC,
 * DCS, APC, PM or SOS introducer (7-bit ESC ] P _ ^ X, or C1 in UTF-8)
 * and no ENQ; cutting the stream elsewhere gives the same output. */
#include "config.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "portcullis/termsafe.h"

/* Filters data in pieces of step bytes into a fresh buffer (*olen). */
static uint8_t *
filter(const uint8_t *data, size_t len, size_t step, size_t *olen)
{
    struct pcl_termsafe *t = NULL;
    uint8_t *all, *out;
    size_t at, n, w;

    *olen = 0;
    if (pcl_termsafe_new(&t) != 0) {
        return NULL;
    }
    all = malloc(len + PCL_TERMSAFE_HOLD + 1);
    if (all == NULL) {
        pcl_termsafe_free(t);
        return NULL;
    }
    for (at = 0; at < len; at += n) {
        n = len - at < step ? len - at : step;
        out = malloc(n + PCL_TERMSAFE_HOLD);
        if (out == NULL) {
            abort();
        }
        w = pcl_termsafe_feed(t, data + at, n, out);
        if (w > n + PCL_TERMSAFE_HOLD || *olen + w > len + PCL_TERMSAFE_HOLD) {
            abort();
        }
        memcpy(all + *olen, out, w);
        *olen += w;
        free(out);
    }
    pcl_termsafe_free(t);
    return all;
}

/* Introducers that must never reach the analyst's terminal. */
static void
check_safe(const uint8_t *o, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (o[i] == 0x05) {
            abort();
        }
        if (o[i] == 0x1b && i + 1 < n &&
            strchr("]P_^Xk", o[i + 1]) != NULL && o[i + 1] != '\0') {
            abort();
        }
        if (o[i] == 0xc2 && i + 1 < n &&
            (o[i + 1] == 0x90 || o[i + 1] == 0x9d || o[i + 1] == 0x9e ||
             o[i + 1] == 0x9f || o[i + 1] == 0x98)) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *x, *y;
    size_t xl, yl, step;

    if (size < 1) {
        return 0;
    }
    step = (size_t)(data[0] % 32) + 1;
    x = filter(data + 1, size - 1, size, &xl);
    y = filter(data + 1, size - 1, step, &yl);
    if (x != NULL && y != NULL) {
        check_safe(x, xl);
        check_safe(y, yl);
        if (xl != yl || memcmp(x, y, xl) != 0) {
            abort();
        }
    }
    free(x);
    free(y);
    return 0;
}
