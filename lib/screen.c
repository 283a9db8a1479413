/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/screen.h"

#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "portcullis/castread.h"
#include "portcullis/err.h"

#define SIZE_MAX_CELLS 10000

struct pcl_screen {
    VTerm *vt;
    VTermScreen *vs;
    int cols;
    int rows;
    int dirty_first;            /* -1: nothing changed */
    int dirty_last;
    bool cursor_visible;
    pcl_screen_line_fn on_scroll;
    void *on_scroll_ctx;
    pcl_screen_move_fn on_move;
    void *on_move_ctx;
};

static void
mark(struct pcl_screen *s, int first, int last)
{
    if (s->dirty_first < 0 || first < s->dirty_first) {
        s->dirty_first = first;
    }
    if (last > s->dirty_last) {
        s->dirty_last = last;
    }
}

static int
cb_damage(VTermRect r, void *user)
{
    mark(user, r.start_row, r.end_row - 1);
    return 1;
}

static int
cb_moverect(VTermRect dest, VTermRect src, void *user)
{
    struct pcl_screen *s = user;

    if (s->on_move == NULL || dest.start_col != 0 || src.start_col != 0 ||
        dest.end_col != s->cols || src.end_col != s->cols) {
        return 0; /* libvterm then reports the area damaged */
    }
    s->on_move(dest.start_row, src.start_row, dest.end_row - dest.start_row,
               s->on_move_ctx);
    return 1;
}

static int
cb_settermprop(VTermProp prop, VTermValue *val, void *user)
{
    struct pcl_screen *s = user;

    if (prop == VTERM_PROP_CURSORVISIBLE) {
        s->cursor_visible = val->boolean != 0;
    }
    return 1;
}

/* Appends code point c as UTF-8 to buf at *n (cap bytes). */
static void
put_utf8(char *buf, size_t cap, size_t *n, uint32_t c)
{
    char tmp[4];
    size_t k;

    if (c >= 0xd800 && c <= 0xdfff) {
        c = 0xfffd;
    }
    if (c < 0x80) {
        tmp[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        tmp[0] = (char)(0xc0 | (c >> 6));
        tmp[1] = (char)(0x80 | (c & 0x3f));
        k = 2;
    } else if (c < 0x10000) {
        tmp[0] = (char)(0xe0 | (c >> 12));
        tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (c & 0x3f));
        k = 3;
    } else if (c < 0x110000) {
        tmp[0] = (char)(0xf0 | (c >> 18));
        tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        tmp[3] = (char)(0x80 | (c & 0x3f));
        k = 4;
    } else {
        return;
    }
    if (*n + k < cap) {
        memcpy(buf + *n, tmp, k);
        *n += k;
    }
}

/* Text of cells[0, cols), trailing blanks removed. */
static size_t
cells_text(const VTermScreenCell *cells, int cols, char *buf, size_t cap)
{
    size_t n = 0;
    size_t keep = 0;
    int x;

    for (x = 0; x < cols; x++) {
        const VTermScreenCell *c = &cells[x];
        int k;

        if (c->chars[0] == 0) {
            /* the right half of a wide character has no chars of its own;
             * an empty cell is a blank */
            if (x > 0 && cells[x - 1].width == 2) {
                continue;
            }
            put_utf8(buf, cap, &n, ' ');
            continue;
        }
        for (k = 0; k < VTERM_MAX_CHARS_PER_CELL && c->chars[k] != 0; k++) {
            put_utf8(buf, cap, &n, c->chars[k]);
        }
        if (c->chars[0] != ' ') {
            keep = n;
        }
    }
    if (cap > 0) {
        buf[keep] = '\0';
    }
    return keep;
}

static int
cb_pushline(int cols, const VTermScreenCell *cells, void *user)
{
    struct pcl_screen *s = user;
    char buf[SIZE_MAX_CELLS * 4 + 1];
    size_t n;

    if (s->on_scroll == NULL) {
        return 0;
    }
    n = cells_text(cells, cols, buf, sizeof(buf));
    s->on_scroll(buf, n, s->on_scroll_ctx);
    return 1;
}

static const VTermScreenCallbacks callbacks = {
    .damage = cb_damage,
    .moverect = cb_moverect,
    .settermprop = cb_settermprop,
    .sb_pushline = cb_pushline,
};

int
pcl_screen_new(int cols, int rows, struct pcl_screen **out)
{
    struct pcl_screen *s;

    *out = NULL;
    if (cols < 1 || rows < 1 || cols > SIZE_MAX_CELLS ||
        rows > SIZE_MAX_CELLS) {
        return PCL_ERR_INVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return PCL_ERR_NOMEM;
    }
    s->vt = vterm_new(rows, cols);
    if (s->vt == NULL) {
        free(s);
        return PCL_ERR_NOMEM;
    }
    s->cols = cols;
    s->rows = rows;
    s->dirty_first = -1;
    s->dirty_last = -1;
    s->cursor_visible = true;
    vterm_set_utf8(s->vt, 1);
    s->vs = vterm_obtain_screen(s->vt);
    vterm_screen_set_callbacks(s->vs, &callbacks, s);
    vterm_screen_set_damage_merge(s->vs, VTERM_DAMAGE_SCROLL);
    vterm_screen_enable_altscreen(s->vs, 1);
    vterm_screen_reset(s->vs, 1);
    *out = s;
    return PCL_OK;
}

void
pcl_screen_free(struct pcl_screen *s)
{
    if (s == NULL) {
        return;
    }
    vterm_free(s->vt);
    free(s);
}

void
pcl_screen_feed(struct pcl_screen *s, const uint8_t *data, size_t len)
{
    vterm_input_write(s->vt, (const char *)data, len);
    vterm_screen_flush_damage(s->vs);
}

void
pcl_screen_resize(struct pcl_screen *s, int cols, int rows)
{
    if (cols < 1 || rows < 1 || cols > SIZE_MAX_CELLS ||
        rows > SIZE_MAX_CELLS || (cols == s->cols && rows == s->rows)) {
        return;
    }
    vterm_set_size(s->vt, rows, cols);
    s->cols = cols;
    s->rows = rows;
    mark(s, 0, rows - 1);
}

bool
pcl_screen_event(struct pcl_screen *s, char code, const uint8_t *data,
                 size_t len)
{
    int cols;
    int rows;

    if (code == 'o') {
        pcl_screen_feed(s, data, len);
    } else if (code == 'r' &&
               pcl_castread_parse_size(data, len, &cols, &rows) == PCL_OK &&
               (cols != s->cols || rows != s->rows)) {
        pcl_screen_resize(s, cols, rows);
        return true;
    }
    return false;
}

void
pcl_screen_size(const struct pcl_screen *s, int *cols, int *rows)
{
    *cols = s->cols;
    *rows = s->rows;
}

void
pcl_screen_on_scroll(struct pcl_screen *s, pcl_screen_line_fn fn, void *ctx)
{
    s->on_scroll = fn;
    s->on_scroll_ctx = ctx;
}

void
pcl_screen_on_move(struct pcl_screen *s, pcl_screen_move_fn fn, void *ctx)
{
    s->on_move = fn;
    s->on_move_ctx = ctx;
}

size_t
pcl_screen_row_text(const struct pcl_screen *s, int row, char *buf,
                    size_t cap)
{
    VTermRect rect;
    size_t n;

    if (cap == 0) {
        return 0;
    }
    buf[0] = '\0';
    if (row < 0 || row >= s->rows) {
        return 0;
    }
    rect.start_row = row;
    rect.end_row = row + 1;
    rect.start_col = 0;
    rect.end_col = s->cols;
    /* libvterm writes UTF-8, blanks only before later text; it returns
     * the length the whole row needs, which may exceed what fits. */
    n = vterm_screen_get_text(s->vs, buf, cap - 1, rect);
    if (n > cap - 1) {
        /* Cut: drop the last character, which may be incomplete. */
        n = cap - 1;
        while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80) {
            n--;
        }
        if (n > 0 && ((unsigned char)buf[n - 1] & 0x80) != 0) {
            n--;
        }
    }
    while (n > 0 && buf[n - 1] == ' ') {
        n--;
    }
    buf[n] = '\0';
    return n;
}

bool
pcl_screen_take_dirty(struct pcl_screen *s, int *first, int *last)
{
    if (s->dirty_first < 0) {
        return false;
    }
    *first = s->dirty_first;
    *last = s->dirty_last < s->rows ? s->dirty_last : s->rows - 1;
    s->dirty_first = -1;
    s->dirty_last = -1;
    return true;
}

static void
sgr_color(FILE *fp, const VTermColor *c, bool fg)
{
    if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c)) {
        return;
    }
    if (VTERM_COLOR_IS_INDEXED(c)) {
        fprintf(fp, ";%d;5;%u", fg ? 38 : 48, c->indexed.idx);
    } else {
        fprintf(fp, ";%d;2;%u;%u;%u", fg ? 38 : 48, c->rgb.red,
                c->rgb.green, c->rgb.blue);
    }
}

static bool
same_pen(const VTermScreenCell *a, const VTermScreenCell *b)
{
    return a->attrs.bold == b->attrs.bold &&
           a->attrs.underline == b->attrs.underline &&
           a->attrs.italic == b->attrs.italic &&
           a->attrs.blink == b->attrs.blink &&
           a->attrs.reverse == b->attrs.reverse &&
           a->attrs.strike == b->attrs.strike &&
           a->fg.type == b->fg.type && a->bg.type == b->bg.type &&
           vterm_color_is_equal(&a->fg, &b->fg) &&
           vterm_color_is_equal(&a->bg, &b->bg);
}

void
pcl_screen_paint(const struct pcl_screen *s, FILE *fp, int max_cols,
                 int max_rows)
{
    VTermScreenCell prev;
    VTermPos cur;
    VTermState *st = vterm_obtain_state(s->vt);
    int cols = max_cols > 0 && max_cols < s->cols ? max_cols : s->cols;
    int rows = max_rows > 0 && max_rows < s->rows ? max_rows : s->rows;
    int x;
    int y;

    memset(&prev, 0, sizeof(prev));
    /* Reset the pen, clear, home; hide the cursor while drawing. */
    fputs("\033[0m\033[?25l\033[H\033[2J", fp);
    for (y = 0; y < rows; y++) {
        bool pen_set = false;
        fprintf(fp, "\033[%d;1H", y + 1);
        for (x = 0; x < cols; x++) {
            VTermPos pos = { .row = y, .col = x };
            VTermScreenCell c;
            char text[VTERM_MAX_CHARS_PER_CELL * 4 + 1];
            size_t n = 0;
            int k;

            if (!vterm_screen_get_cell(s->vs, pos, &c)) {
                continue;
            }
            if (c.chars[0] == 0 && x > 0 && c.width == 0) {
                continue;
            }
            if (c.width == 2 && x + 1 >= cols) {
                break; /* half a wide character does not fit */
            }
            if (!pen_set || !same_pen(&c, &prev)) {
                fputs("\033[0", fp);
                if (c.attrs.bold) {
                    fputs(";1", fp);
                }
                if (c.attrs.italic) {
                    fputs(";3", fp);
                }
                if (c.attrs.underline) {
                    fputs(";4", fp);
                }
                if (c.attrs.blink) {
                    fputs(";5", fp);
                }
                if (c.attrs.reverse) {
                    fputs(";7", fp);
                }
                if (c.attrs.strike) {
                    fputs(";9", fp);
                }
                sgr_color(fp, &c.fg, true);
                sgr_color(fp, &c.bg, false);
                fputc('m', fp);
                prev = c;
                pen_set = true;
            }
            if (c.chars[0] == 0) {
                put_utf8(text, sizeof(text), &n, ' ');
            }
            for (k = 0; k < VTERM_MAX_CHARS_PER_CELL && c.chars[k] != 0;
                 k++) {
                put_utf8(text, sizeof(text), &n, c.chars[k]);
            }
            fwrite(text, 1, n, fp);
            if (c.width == 2) {
                x++;
            }
        }
    }
    vterm_state_get_cursorpos(st, &cur);
    cur.row = cur.row < rows ? cur.row : rows - 1;
    cur.col = cur.col < cols ? cur.col : cols - 1;
    fprintf(fp, "\033[0m\033[%d;%dH%s", cur.row + 1, cur.col + 1,
            s->cursor_visible ? "\033[?25h" : "");
}
