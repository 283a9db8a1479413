/* SPDX-License-Identifier: BSD-2-Clause */
/* A streaming filter that lets recorded output draw on the analyst's
 * terminal but never act on it: no clipboard, title, links, device
 * queries, reports or input modes (ECMA-48 parsing, xterm ctlseqs). */
#ifndef PCL_TERMSAFE_H
#define PCL_TERMSAFE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a control sequence held back across calls, at most. A longer
 * CSI sequence is dropped whole. */
#define PCL_TERMSAFE_HOLD 64

struct pcl_termsafe;

/* Allocates a filter in the ground state. Returns 0 with *out owned by
 * the caller (pcl_termsafe_free) or PCL_ERR_NOMEM. */
int pcl_termsafe_new(struct pcl_termsafe **out);

/* Frees the filter; NULL is a no-op. */
void pcl_termsafe_free(struct pcl_termsafe *t);

/* Forgets a sequence in progress (after a seek). */
void pcl_termsafe_reset(struct pcl_termsafe *t);

/*
 * Filters len bytes of recorded output into out, which must hold
 * len + PCL_TERMSAFE_HOLD bytes; a sequence cut at the end is held and
 * completed by the next call. Dropped: OSC (titles, OSC 52 clipboard,
 * OSC 8 links, colour queries), DCS, APC, PM, SOS strings and the
 * ESC k title string of screen and tmux; C1 controls
 * (UTF-8 U+0080..U+009F); ENQ; DECID; device attribute, status, mode
 * (DECRQM) and terminal parameter requests; window operations (CSI t);
 * media copy; mouse, focus and bracketed-paste modes; keyboard lock and
 * local echo (ANSI modes 2 and 12); key modifier and keyboard protocol
 * settings. Returns the number of bytes written to out.
 */
size_t pcl_termsafe_feed(struct pcl_termsafe *t, const uint8_t *in,
                         size_t len, uint8_t *out);

/* How many sequences or controls were dropped so far. */
unsigned long pcl_termsafe_dropped(const struct pcl_termsafe *t);

#endif /* PCL_TERMSAFE_H */
