/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/termsafe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/err.h"

enum state {
    GROUND,
    UTF8_C2,        /* 0xc2 seen: U+0080..U+009F would be a C1 control */
    ESC,
    ESC_INTER,      /* ESC, intermediates, waiting for the final byte */
    CSI,
    CSI_DROP,       /* too long: swallow up to the final byte */
    STRING,         /* OSC, DCS, APC, PM, SOS: swallowed up to ST */
    STRING_ESC,     /* ESC inside a string: ST is ESC \ */
};

struct pcl_termsafe {
    enum state st;
    uint8_t hold[PCL_TERMSAFE_HOLD];
    size_t nhold;
    unsigned long dropped;
    bool bel_ends;  /* the string is an OSC, which BEL may end */
};

int
pcl_termsafe_new(struct pcl_termsafe **out)
{
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? PCL_ERR_NOMEM : PCL_OK;
}

void
pcl_termsafe_free(struct pcl_termsafe *t)
{
    free(t);
}

void
pcl_termsafe_reset(struct pcl_termsafe *t)
{
    t->st = GROUND;
    t->nhold = 0;
}

unsigned long
pcl_termsafe_dropped(const struct pcl_termsafe *t)
{
    return t->dropped;
}

/* C0 controls that only move the cursor, ring or shift character sets. */
static bool
c0_draws(uint8_t b)
{
    return b >= 0x07 && b <= 0x0f;
}

/* Private (DEC) modes that make the terminal send reports or change what
 * keys send: mouse tracking and encodings, focus events, bracketed paste,
 * meta and alt key handling. */
static bool
private_mode_acts(long m)
{
    static const long modes[] = {
        9, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1015, 1016,
        1034, 1035, 1036, 1039, 1050, 1051, 1052, 1053, 1060, 1061, 2004,
    };
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (modes[i] == m) {
            return true;
        }
    }
    return false;
}

/*
 * Writes a complete CSI sequence (held in t->hold) to out when it only
 * draws; mode settings keep only their harmless parameters.
 */
static size_t
csi_done(struct pcl_termsafe *t, uint8_t *out)
{
    const uint8_t *s = t->hold + 2; /* after ESC [ */
    size_t n = t->nhold - 2;
    uint8_t final = s[n - 1];
    uint8_t prefix = (n > 1 && s[0] >= 0x3c && s[0] <= 0x3f) ? s[0] : 0;
    bool inter = n > 1 && s[n - 2] >= 0x20 && s[n - 2] <= 0x2f;
    uint8_t im = inter ? s[n - 2] : 0;
    size_t o = 0;

    switch (final) {
    case 'c': /* DA1, DA2, DA3 */
    case 'n': /* DSR, CPR */
    case 't': /* window operations and reports */
    case 'x': /* DECREQTPARM */
    case 'i': /* media copy */
    case 'y': /* DECTST */
        goto drop;
    case 'p':
    case 'w':
    case 'u':
        if (im == '$' || (final == 'u' && prefix != 0)) {
            goto drop; /* DECRQM, DECRQPSR, DECRQTSR, keyboard protocol */
        }
        break;
    case 'q':
        if (prefix == '>') {
            goto drop; /* XTVERSION */
        }
        break;
    case 'z':
    case '{':
    case '|':
        if (im == '\'') {
            goto drop; /* DECELR, DECSLE, DECRQLP: locator reports */
        }
        break;
    case 'S':
    case 'm':
    case 'f':
        if (prefix == '?' || prefix == '>') {
            goto drop; /* XTSMGRAPHICS, XTMODKEYS, XTFMTKEYS */
        }
        break;
    case 'h':
    case 'l':
        if (!inter && (prefix == '?' || prefix == 0)) {
            /* Rebuild the list with the harmless modes only. */
            const uint8_t *p = s + (prefix ? 1 : 0);
            const uint8_t *e = s + n - 1;
            uint8_t tmp[PCL_TERMSAFE_HOLD];
            size_t k = 0;
            size_t kept = 0;

            while (p < e) {
                const uint8_t *q = p;
                long m = 0;
                while (q < e && *q != ';') {
                    /* -1 sticks: a bad or too long number never turns
                     * into another mode (nor overflows). */
                    m = m >= 0 && *q >= '0' && *q <= '9'
                            ? m * 10 + (*q - '0')
                            : -1;
                    if (m > 100000) {
                        m = -1;
                    }
                    q++;
                }
                bool bad = prefix ? private_mode_acts(m)
                                  : (m == 2 || m == 12);
                if (!bad && q > p && m >= 0) {
                    if (kept++ > 0) {
                        tmp[k++] = ';';
                    }
                    memcpy(tmp + k, p, (size_t)(q - p));
                    k += (size_t)(q - p);
                } else {
                    t->dropped++;
                }
                p = q < e ? q + 1 : q;
            }
            if (kept == 0) {
                return 0;
            }
            out[o++] = 0x1b;
            out[o++] = '[';
            if (prefix) {
                out[o++] = prefix;
            }
            memcpy(out + o, tmp, k);
            o += k;
            out[o++] = final;
            return o;
        }
        break;
    default:
        break;
    }
    memcpy(out, t->hold, t->nhold);
    return t->nhold;
drop:
    t->dropped++;
    return 0;
}

size_t
pcl_termsafe_feed(struct pcl_termsafe *t, const uint8_t *in, size_t len,
                  uint8_t *out)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        uint8_t b = in[i];

        switch (t->st) {
        case GROUND:
            if (b == 0x1b) {
                t->st = ESC;
                t->hold[0] = b;
                t->nhold = 1;
            } else if (b == 0xc2) {
                t->st = UTF8_C2;
            } else if (b < 0x20 && !c0_draws(b)) {
                t->dropped++; /* ENQ (answerback), NUL, ... */
            } else if (b == 0x7f) {
                /* DEL draws nothing */
            } else {
                out[o++] = b;
            }
            break;
        case UTF8_C2:
            t->st = GROUND;
            if (b >= 0x80 && b <= 0x9f) {
                /* A C1 control in UTF-8: CSI, OSC, DCS... as one code
                 * point. Some terminals obey them; none may. */
                t->dropped++;
                if (b == 0x9d || b == 0x90 || b == 0x9f || b == 0x9e ||
                    b == 0x98) {
                    t->st = STRING;
                    t->bel_ends = b == 0x9d;
                }
            } else if (b >= 0xa0 && b <= 0xbf) {
                out[o++] = 0xc2;
                out[o++] = b;
            } else {
                /* A lone 0xc2 (not UTF-8) is dropped: written out, a
                 * byte dropped after it (a control, a sequence) would
                 * join it to a later 0x80..0x9f into a C1 control. */
                t->dropped++;
                i--; /* look at b again in GROUND */
            }
            break;
        case ESC:
            if (b == '[') {
                t->hold[t->nhold++] = b;
                t->st = CSI;
            } else if (b == ']' || b == 'P' || b == '_' || b == '^' ||
                       b == 'X' || b == 'k') {
                /* ESC k is screen's and tmux's title string. */
                t->dropped++;
                t->st = STRING;
                t->bel_ends = b == ']';
            } else if (b >= 0x20 && b <= 0x2f) {
                t->hold[t->nhold++] = b;
                t->st = ESC_INTER;
            } else if (b == 'Z') {
                t->dropped++; /* DECID: the terminal answers */
                t->st = GROUND;
            } else if (b >= 0x30 && b <= 0x7e) {
                out[o++] = 0x1b;
                out[o++] = b;
                t->st = GROUND;
            } else {
                /* ESC followed by a control: drop the ESC, keep going. */
                t->st = GROUND;
                i--;
            }
            break;
        case ESC_INTER:
            if (b >= 0x20 && b <= 0x2f && t->nhold < PCL_TERMSAFE_HOLD) {
                t->hold[t->nhold++] = b;
            } else if (b >= 0x30 && b <= 0x7e && t->hold[1] == '%') {
                /* DOCS: "ESC % @" leaves UTF-8, and the terminal would
                 * then obey C1 bytes (0x9b CSI, 0x9d OSC) that pass here
                 * as parts of UTF-8 characters. */
                t->dropped++;
                t->st = GROUND;
            } else if (b >= 0x30 && b <= 0x7e) {
                memcpy(out + o, t->hold, t->nhold);
                o += t->nhold;
                out[o++] = b;
                t->st = GROUND;
            } else {
                t->dropped++;
                t->st = GROUND;
            }
            break;
        case CSI:
            if (b == 0x18 || b == 0x1a) {
                t->st = GROUND; /* CAN, SUB cancel the sequence */
            } else if (b == 0x1b) {
                t->st = ESC;
                t->hold[0] = b;
                t->nhold = 1;
            } else if (b < 0x20) {
                /* C0 inside CSI acts immediately (ECMA-48 5.5). */
                if (c0_draws(b)) {
                    out[o++] = b;
                }
            } else if (t->nhold == PCL_TERMSAFE_HOLD) {
                t->dropped++;
                t->st = (b >= 0x40 && b <= 0x7e) ? GROUND : CSI_DROP;
            } else if (b >= 0x40 && b <= 0x7e) {
                t->hold[t->nhold++] = b;
                o += csi_done(t, out + o);
                t->st = GROUND;
            } else if (b <= 0x3f) {
                t->hold[t->nhold++] = b;
            } else {
                t->dropped++; /* not a valid CSI byte */
                t->st = GROUND;
            }
            break;
        case CSI_DROP:
            if (b >= 0x40 && b <= 0x7e) {
                t->st = GROUND;
            } else if (b == 0x1b) {
                t->st = ESC;
                t->hold[0] = b;
                t->nhold = 1;
            }
            break;
        case STRING:
            /* BEL ends an OSC only: a terminal that keeps a DCS going
             * through it would take what follows (passed here) as the
             * DCS's request, and answer it into the input. */
            if ((b == 0x07 && t->bel_ends) || b == 0x18 || b == 0x1a) {
                t->st = GROUND;
            } else if (b == 0x1b) {
                t->st = STRING_ESC;
            }
            break;
        case STRING_ESC:
            t->st = b == '\\' ? GROUND : STRING;
            break;
        }
    }
    return o;
}
