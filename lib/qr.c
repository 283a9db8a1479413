/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/qr.h"

#include <qrencode.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"

#define QUIET 2 /* modules of light margin around the code */

/* True when the module at (x, y) is light; the margin is light too. */
static bool
light(const QRcode *q, int x, int y)
{
    if (x < 0 || y < 0 || x >= q->width || y >= q->width) {
        return true;
    }
    return (q->data[y * q->width + x] & 1) == 0;
}

int
pcl_qr_render(const char *text, char **out)
{
    static const char *const glyph[4] = {
        " ",            /* both dark */
        "\xe2\x96\x84", /* lower half light: U+2584 */
        "\xe2\x96\x80", /* upper half light: U+2580 */
        "\xe2\x96\x88", /* both light: U+2588 */
    };
    QRcode *q;
    char *s;
    size_t cap;
    size_t n = 0;
    int side;
    int x, y;

    *out = NULL;
    q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (q == NULL) {
        return PCL_ERR_TOOBIG;
    }
    side = q->width + 2 * QUIET;
    /* 3 bytes a glyph at most, a newline a line */
    cap = (size_t)(side * 3 + 1) * (size_t)((side + 1) / 2) + 1;
    s = malloc(cap);
    if (s == NULL) {
        QRcode_free(q);
        return PCL_ERR_NOMEM;
    }
    for (y = -QUIET; y < q->width + QUIET; y += 2) {
        for (x = -QUIET; x < q->width + QUIET; x++) {
            const char *g = glyph[(light(q, x, y) ? 2 : 0) |
                                  (light(q, x, y + 1) ? 1 : 0)];
            memcpy(s + n, g, strlen(g));
            n += strlen(g);
        }
        s[n++] = '\n';
    }
    s[n] = '\0';
    QRcode_free(q);
    *out = s; /* transfer ownership */
    return PCL_OK;
}
