/* SPDX-License-Identifier: BSD-2-Clause */
/* A terminal screen model (libvterm): what a recording showed, as text
 * rows, as an escape sequence that redraws it, and as changed rows. */
#ifndef PCL_SCREEN_H
#define PCL_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcl_screen;

/* Called with each line that scrolls off the top (UTF-8, trailing blanks
 * removed, not terminated); for plain-text export. */
typedef void (*pcl_screen_line_fn)(const char *text, size_t len,
                                   void *ctx);

/* Called when rows [src, src + n) moved, unchanged, to [dest, dest + n)
 * (a scroll): they are not reported dirty. */
typedef void (*pcl_screen_move_fn)(int dest, int src, int n, void *ctx);

/* Creates a blank screen of cols x rows (1..10000). Returns 0 with *out
 * owned by the caller (pcl_screen_free), PCL_ERR_INVAL or PCL_ERR_NOMEM. */
int pcl_screen_new(int cols, int rows, struct pcl_screen **out);

/* Frees the screen; NULL is a no-op. */
void pcl_screen_free(struct pcl_screen *s);

/* Interprets len bytes of terminal output (UTF-8). */
void pcl_screen_feed(struct pcl_screen *s, const uint8_t *data, size_t len);

/* Changes the size (a recorded "r" event); out of range is ignored. */
void pcl_screen_resize(struct pcl_screen *s, int cols, int rows);

/* Applies one asciicast event (portcullis-cast(5)): "o" output is fed,
 * "r" ("COLSxROWS") resizes, other codes change nothing. Returns true
 * when the size changed. */
bool pcl_screen_event(struct pcl_screen *s, char code, const uint8_t *data,
                      size_t len);

/* Current size. */
void pcl_screen_size(const struct pcl_screen *s, int *cols, int *rows);

/* Sets the callback for lines scrolled off the top; NULL clears it. */
void pcl_screen_on_scroll(struct pcl_screen *s, pcl_screen_line_fn fn,
                          void *ctx);

/* Sets the callback for whole rows moved by a scroll; NULL clears it
 * (moved rows are then reported dirty). */
void pcl_screen_on_move(struct pcl_screen *s, pcl_screen_move_fn fn,
                        void *ctx);

/*
 * Writes the text of row (0-based) as UTF-8 into buf (cap bytes, always
 * terminated when cap > 0), trailing blanks removed. Returns its length
 * in bytes (cut to cap - 1).
 */
size_t pcl_screen_row_text(const struct pcl_screen *s, int row, char *buf,
                           size_t cap);

/*
 * Takes the rows changed since the last call: [*first, *last] (0-based).
 * Returns false when none changed.
 */
bool pcl_screen_take_dirty(struct pcl_screen *s, int *first, int *last);

/*
 * Writes to fp the escape sequences (ECMA-48 SGR and cursor moves only)
 * that draw the screen as it is, colours and attributes included, from
 * the top left, clipped to max_cols x max_rows (0: not clipped), and
 * place the cursor. Only drawing sequences: safe for the analyst's
 * terminal.
 */
void pcl_screen_paint(const struct pcl_screen *s, FILE *fp, int max_cols,
                      int max_rows);

#endif /* PCL_SCREEN_H */
