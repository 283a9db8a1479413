/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/castread.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portcullis/cast.h"
#include "portcullis/err.h"

#define READ_CHUNK (1u << 20)
#define MARKS_MAX 4096
#define MARK_SPACING_START (64u << 10)

/* A line reader over one fd: buf[start, end) holds unread bytes whose
 * first byte is at file offset base + start. */
struct lines {
    int fd;
    char *buf;
    size_t cap;
    size_t start;
    size_t end;
    off_t base;
};

struct pcl_castread {
    struct lines in;
    struct pcl_castread_header hdr;
    char *term;
    char *title;
    char *raw;
    uint64_t t_us;              /* time of the last event read */
    uint64_t line_no;
    bool sealed;
    json_tokener *tok;
    json_object *cur;           /* the event handed out last */
    /* the time index, built by _locate */
    struct lines scan;
    bool scan_open;
    uint64_t scan_t;
    int scan_cols;
    int scan_rows;
    off_t last_mark;
    off_t spacing;
    struct pcl_castread_mark *marks;
    size_t nmarks;
};

static int
lines_init(struct lines *l, int fd)
{
    memset(l, 0, sizeof(*l));
    l->fd = fd;
    l->cap = READ_CHUNK;
    l->buf = malloc(l->cap);
    return l->buf == NULL ? PCL_ERR_NOMEM : PCL_OK;
}

static void
lines_free(struct lines *l)
{
    free(l->buf);
    l->buf = NULL;
    if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = -1;
}

/*
 * Returns 1 with *line / *len (LF and a CR before it removed) and *off,
 * 0 when no complete line is there yet, or a PCL_ERR_*.
 */
static int
lines_get(struct lines *l, char **line, size_t *len, off_t *off)
{
    for (;;) {
        char *nl = memchr(l->buf + l->start, '\n', l->end - l->start);
        if (nl != NULL) {
            size_t n = (size_t)(nl - (l->buf + l->start));
            *line = l->buf + l->start;
            *off = l->base + (off_t)l->start;
            l->start += n + 1;
            if (n > 0 && (*line)[n - 1] == '\r') {
                n--;
            }
            (*line)[n] = '\0';
            *len = n;
            return 1;
        }
        if (l->end - l->start >= PCL_CASTREAD_LINE_MAX) {
            return PCL_ERR_TOOBIG;
        }
        if (l->start > 0) {
            memmove(l->buf, l->buf + l->start, l->end - l->start);
            l->base += (off_t)l->start;
            l->end -= l->start;
            l->start = 0;
        }
        if (l->cap - l->end < READ_CHUNK / 2) {
            size_t ncap = l->cap * 2;
            char *nb = realloc(l->buf, ncap + 1);
            if (nb == NULL) {
                return PCL_ERR_NOMEM;
            }
            l->buf = nb;
            l->cap = ncap;
        }
        ssize_t got = pread(l->fd, l->buf + l->end, l->cap - l->end - 1,
                            l->base + (off_t)l->end);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return PCL_ERR_IO;
        }
        if (got == 0) {
            return 0;
        }
        l->end += (size_t)got;
    }
}

static int
lines_seek(struct lines *l, off_t off)
{
    if (off < 0) {
        return PCL_ERR_IO;
    }
    l->start = l->end = 0;
    l->base = off;
    return PCL_OK;
}

static json_object *
get(json_object *o, const char *k)
{
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v)) {
        return NULL;
    }
    return v;
}

static int
get_int(json_object *o, const char *k, int lo, int hi, int *out)
{
    /* asciinema records 0x0 when it cannot read the size; it plays such
     * files at 80x24, and so do we. */
    json_object *v = get(o, k);
    int64_t n;

    if (v == NULL || !json_object_is_type(v, json_type_int)) {
        return PCL_ERR_SYNTAX;
    }
    n = json_object_get_int64(v);
    if (n == 0) {
        n = strcmp(k, "width") == 0 || strcmp(k, "cols") == 0 ? 80 : 24;
    }
    if (n < lo || n > hi) {
        return PCL_ERR_SYNTAX;
    }
    *out = (int)n;
    return PCL_OK;
}

static char *
get_str(json_object *o, const char *k)
{
    json_object *v = get(o, k);

    return strdup(v != NULL && json_object_is_type(v, json_type_string)
                      ? json_object_get_string(v)
                      : "");
}

static int
parse_header(struct pcl_castread *r, const char *line, char *why,
             size_t whylen)
{
    json_object *h = json_tokener_parse(line);
    json_object *v;
    json_object *size = NULL;
    int rc = PCL_ERR_SYNTAX;

    if (h == NULL || !json_object_is_type(h, json_type_object)) {
        pcl_err_why(why, whylen, "the first line is not a JSON object");
        goto out;
    }
    v = get(h, "version");
    if (v == NULL || !json_object_is_type(v, json_type_int) ||
        (json_object_get_int(v) != 2 && json_object_get_int(v) != 3)) {
        pcl_err_why(why, whylen, "not asciicast version 2 or 3 (version 1 "
                                 "files: convert them with asciinema)");
        goto out;
    }
    r->hdr.version = json_object_get_int(v);
    if (r->hdr.version == 2) {
        size = h;
        r->term = get_str(get(h, "env"), "TERM");
        if (get_int(size, "width", 1, 10000, &r->hdr.cols) != PCL_OK ||
            get_int(size, "height", 1, 10000, &r->hdr.rows) != PCL_OK) {
            pcl_err_why(why, whylen, "header: width or height missing");
            goto out;
        }
    } else {
        size = get(h, "term");
        r->term = get_str(size, "type");
        if (get_int(size, "cols", 1, 10000, &r->hdr.cols) != PCL_OK ||
            get_int(size, "rows", 1, 10000, &r->hdr.rows) != PCL_OK) {
            pcl_err_why(why, whylen, "header: term.cols or term.rows "
                                     "missing");
            goto out;
        }
    }
    v = get(h, "timestamp");
    if (v != NULL && json_object_is_type(v, json_type_int)) {
        r->hdr.timestamp = json_object_get_int64(v);
    }
    v = get(h, "idle_time_limit");
    if (v != NULL && (json_object_is_type(v, json_type_double) ||
                      json_object_is_type(v, json_type_int))) {
        double d = json_object_get_double(v);
        r->hdr.idle_time_limit = isfinite(d) && d > 0 ? d : 0;
    }
    r->title = get_str(h, "title");
    r->raw = strdup(line);
    if (r->term == NULL || r->title == NULL || r->raw == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    r->hdr.term = r->term;
    r->hdr.title = r->title;
    r->hdr.raw = r->raw;
    rc = PCL_OK;
out:
    json_object_put(h);
    return rc;
}

int
pcl_castread_open(const char *path, struct pcl_castread **out, char *why,
                  size_t whylen)
{
    struct pcl_castread *r = NULL;
    int fd;
    int rc = PCL_ERR_NOMEM;
    char *line;
    size_t len;
    off_t off;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        pcl_err_why(why, whylen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? PCL_ERR_NOTFOUND : PCL_ERR_IO;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(fd);
        goto out;
    }
    r->scan.fd = -1;
    if (lines_init(&r->in, fd) != PCL_OK) {
        close(fd);
        r->in.fd = -1;
        goto out;
    }
    r->tok = json_tokener_new();
    if (r->tok == NULL) {
        goto out;
    }
    do {
        rc = lines_get(&r->in, &line, &len, &off);
    } while (rc == 1 && len == 0);
    if (rc != 1) {
        pcl_err_why(why, whylen, "%s: no complete header line", path);
        rc = rc == 0 ? PCL_ERR_SYNTAX : rc;
        goto out;
    }
    r->line_no = 1;
    rc = parse_header(r, line, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    *out = r; /* transfer ownership */
    r = NULL;
out:
    pcl_castread_free(r);
    return rc;
}

void
pcl_castread_free(struct pcl_castread *r)
{
    if (r == NULL) {
        return;
    }
    lines_free(&r->in);
    lines_free(&r->scan);
    json_object_put(r->cur);
    if (r->tok != NULL) {
        json_tokener_free(r->tok);
    }
    free(r->term);
    free(r->title);
    free(r->raw);
    free(r->marks);
    free(r);
}

const struct pcl_castread_header *
pcl_castread_header(const struct pcl_castread *r)
{
    return &r->hdr;
}

bool
pcl_castread_sealed(const struct pcl_castread *r)
{
    return r->sealed;
}

/* Seconds (a JSON number) to microseconds; negatives are refused. */
static int
to_us(double s, uint64_t *out)
{
    if (!isfinite(s) || s < 0 || s > 1e12) {
        return PCL_ERR_SYNTAX;
    }
    *out = (uint64_t)llround(s * 1e6);
    return PCL_OK;
}

int
pcl_castread_next(struct pcl_castread *r, struct pcl_castread_event *ev,
                  char *why, size_t whylen)
{
    char *line;
    size_t len;
    off_t off;
    int rc;

    json_object_put(r->cur);
    r->cur = NULL;
    for (;;) {
        json_object *a;
        json_object *t;
        json_object *c;
        json_object *d;
        uint64_t us;

        rc = lines_get(&r->in, &line, &len, &off);
        if (rc != 1) {
            if (rc < 0) {
                pcl_err_why(why, whylen, "line %llu: %s",
                            (unsigned long long)r->line_no + 1,
                            pcl_err_str(rc));
            }
            return rc;
        }
        r->line_no++;
        if (len == 0) {
            continue;
        }
        if (line[0] == '#') {
            if (strncmp(line, "# {", 3) == 0 &&
                strstr(line, PCL_CAST_SEAL_MAGIC) != NULL) {
                r->sealed = true;
            }
            continue;
        }
        json_tokener_reset(r->tok);
        a = json_tokener_parse_ex(r->tok, line, (int)len);
        if (a == NULL || !json_object_is_type(a, json_type_array) ||
            json_object_array_length(a) < 3) {
            json_object_put(a);
            pcl_err_why(why, whylen, "line %llu: not an event",
                        (unsigned long long)r->line_no);
            return PCL_ERR_SYNTAX;
        }
        t = json_object_array_get_idx(a, 0);
        c = json_object_array_get_idx(a, 1);
        d = json_object_array_get_idx(a, 2);
        if (!(json_object_is_type(t, json_type_double) ||
              json_object_is_type(t, json_type_int)) ||
            !json_object_is_type(c, json_type_string) ||
            json_object_get_string_len(c) < 1 ||
            !json_object_is_type(d, json_type_string) ||
            to_us(json_object_get_double(t), &us) != PCL_OK) {
            json_object_put(a);
            pcl_err_why(why, whylen, "line %llu: malformed event",
                        (unsigned long long)r->line_no);
            return PCL_ERR_SYNTAX;
        }
        if (r->hdr.version == 3) {
            us += r->t_us;
        } else if (us < r->t_us) {
            us = r->t_us; /* asciinema plays these; keep time monotonic */
        }
        r->t_us = us;
        r->cur = a;
        ev->t_us = us;
        ev->code = json_object_get_string(c)[0];
        ev->data = (const uint8_t *)json_object_get_string(d);
        ev->len = (size_t)json_object_get_string_len(d);
        ev->offset = off;
        return 1;
    }
}

void
pcl_castread_tell(const struct pcl_castread *r, off_t *offset,
                  uint64_t *t_us)
{
    *offset = r->in.base + (off_t)r->in.start;
    *t_us = r->t_us;
}

int
pcl_castread_seek(struct pcl_castread *r, off_t offset, uint64_t t_us)
{
    json_object_put(r->cur);
    r->cur = NULL;
    r->t_us = t_us;
    return lines_seek(&r->in, offset);
}

int
pcl_castread_parse_size(const uint8_t *s, size_t len, int *cols, int *rows)
{
    char tmp[32];
    char *end;
    long c;
    long w;

    if (len == 0 || len >= sizeof(tmp)) {
        return PCL_ERR_SYNTAX;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    c = strtol(tmp, &end, 10);
    if (end == tmp || *end != 'x') {
        return PCL_ERR_SYNTAX;
    }
    w = strtol(end + 1, &end, 10);
    if (*end != '\0' || errno != 0 || c < 1 || c > 10000 || w < 1 ||
        w > 10000) {
        return PCL_ERR_SYNTAX;
    }
    *cols = (int)c;
    *rows = (int)w;
    return PCL_OK;
}

static int
add_mark(struct pcl_castread *r, off_t off)
{
    if (r->nmarks == MARKS_MAX) {
        /* Keep every other mark and space new ones twice as far: the
         * index stays MARKS_MAX entries whatever the file's size. */
        size_t i;
        for (i = 0; i < MARKS_MAX / 2; i++) {
            r->marks[i] = r->marks[2 * i];
        }
        r->nmarks = MARKS_MAX / 2;
        r->spacing *= 2;
    }
    r->marks[r->nmarks].offset = off;
    r->marks[r->nmarks].t_us = r->scan_t;
    r->marks[r->nmarks].cols = r->scan_cols;
    r->marks[r->nmarks].rows = r->scan_rows;
    r->nmarks++;
    r->last_mark = off;
    return PCL_OK;
}

/* Reads times (and "r" sizes) of the lines not scanned yet, without JSON
 * decoding: the writer and asciinema put the time first and the code as
 * a one-letter string second. */
static int
scan_more(struct pcl_castread *r)
{
    char *line;
    size_t len;
    off_t off;
    int rc;

    if (!r->scan_open) {
        int fd = dup(r->in.fd);
        if (fd < 0) {
            return PCL_ERR_IO;
        }
        rc = lines_init(&r->scan, fd);
        if (rc != PCL_OK) {
            close(fd);
            return rc;
        }
        r->marks = calloc(MARKS_MAX, sizeof(*r->marks));
        if (r->marks == NULL) {
            return PCL_ERR_NOMEM;
        }
        /* pread() everywhere: the shared file offset is never used. */
        rc = lines_seek(&r->scan, 0);
        if (rc != PCL_OK) {
            return rc;
        }
        do {
            rc = lines_get(&r->scan, &line, &len, &off);
        } while (rc == 1 && len == 0);
        if (rc != 1) {
            return rc < 0 ? rc : PCL_ERR_SYNTAX;
        }
        r->scan_open = true;
        r->scan_cols = r->hdr.cols;
        r->scan_rows = r->hdr.rows;
        r->spacing = MARK_SPACING_START;
        add_mark(r, r->scan.base + (off_t)r->scan.start);
    }
    for (;;) {
        char *p;
        char *end;
        double s;
        uint64_t us;

        rc = lines_get(&r->scan, &line, &len, &off);
        if (rc != 1) {
            return rc;
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        if (off - r->last_mark >= r->spacing) {
            add_mark(r, off);
        }
        p = line;
        if (*p != '[') {
            return PCL_ERR_SYNTAX;
        }
        s = strtod(p + 1, &end);
        if (end == p + 1 || to_us(s, &us) != PCL_OK) {
            return PCL_ERR_SYNTAX;
        }
        if (r->hdr.version == 3) {
            us += r->scan_t;
        } else if (us < r->scan_t) {
            us = r->scan_t;
        }
        r->scan_t = us;
        p = strchr(end, '"');
        if (p != NULL && p[1] == 'r' && p[2] == '"') {
            char *q = strchr(p + 3, '"');
            char *e = q != NULL ? strchr(q + 1, '"') : NULL;
            if (e != NULL) {
                pcl_castread_parse_size((const uint8_t *)q + 1,
                                        (size_t)(e - q - 1), &r->scan_cols,
                                        &r->scan_rows);
            }
        }
    }
}

int
pcl_castread_locate(struct pcl_castread *r, uint64_t t_us, uint64_t window,
                    struct pcl_castread_mark *at, uint64_t *end_us)
{
    size_t k;
    size_t j;
    int rc;

    rc = scan_more(r);
    if (rc < 0) {
        return rc;
    }
    k = 0;
    while (k + 1 < r->nmarks && r->marks[k + 1].t_us <= t_us) {
        k++;
    }
    j = k;
    while (j > 0 && (uint64_t)(r->marks[k].offset - r->marks[j].offset) <
                        window) {
        j--;
    }
    *at = r->marks[j];
    if (end_us != NULL) {
        *end_us = r->scan_t;
    }
    return PCL_OK;
}
