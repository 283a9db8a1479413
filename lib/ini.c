/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/ini.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "portcullis/err.h"

struct pcl_diag {
    char **msgs;
    size_t n;
    size_t cap;
    size_t lost; /* messages that could not be stored (out of memory) */
};

int
pcl_diag_new(struct pcl_diag **out)
{
    *out = calloc(1, sizeof(**out));
    return *out == NULL ? PCL_ERR_NOMEM : PCL_OK;
}

void
pcl_diag_free(struct pcl_diag *d)
{
    size_t i;

    if (d == NULL) {
        return;
    }
    for (i = 0; i < d->n; i++) {
        free(d->msgs[i]);
    }
    free(d->msgs);
    free(d);
}

void
pcl_diag_add(struct pcl_diag *d, const char *file, int line, const char *fmt,
             ...)
{
    char msg[512];
    char *s = NULL;
    va_list ap;
    int len;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0) {
        len = asprintf(&s, "%s:%d: %s", file, line, msg);
    } else {
        len = asprintf(&s, "%s: %s", file, msg);
    }
    if (len < 0) {
        d->lost++;
        return;
    }
    if (d->n == d->cap) {
        size_t ncap = d->cap == 0 ? 8 : d->cap * 2;
        char **nm = realloc(d->msgs, ncap * sizeof(*nm));
        if (nm == NULL) {
            free(s);
            d->lost++;
            return;
        }
        d->msgs = nm;
        d->cap = ncap;
    }
    d->msgs[d->n++] = s;
}

size_t
pcl_diag_count(const struct pcl_diag *d)
{
    return d->n + d->lost;
}

const char *
pcl_diag_get(const struct pcl_diag *d, size_t i)
{
    if (i < d->n) {
        return d->msgs[i];
    }
    return "(a message was lost: out of memory)";
}

/* State shared by the line reader and the key handler below. */
struct ini_stream {
    FILE *fp;
    const char *path;
    char *line;
    size_t cap;
    int lineno;
    size_t errors;
    pcl_ini_handler handler;
    void *ctx;
    struct pcl_diag *diag;
    char section[128];
};

static void
stream_error(struct ini_stream *s, const char *msg)
{
    pcl_diag_add(s->diag, s->path, s->lineno, "%s", msg);
    s->errors++;
}

/*
 * inih reads through this function one line at a time, so the line number
 * the handler is called for is always s->lineno. The reader also takes the
 * decisions inih would take too leniently: indented lines are not
 * continuations, a line must be a comment, a [section] or "key = value",
 * and a line longer than inih's buffer is an error rather than two lines.
 */
static char *
stream_reader(char *str, int num, void *stream)
{
    struct ini_stream *s = stream;
    ssize_t n;
    char *p;
    char *eq;
    char *colon;
    size_t len;

    for (;;) {
        n = getline(&s->line, &s->cap, s->fp);
        if (n < 0) {
            return NULL;
        }
        s->lineno++;
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r')) {
            s->line[--n] = '\0';
        }
        if (memchr(s->line, '\0', (size_t)n) != NULL) {
            stream_error(s, "NUL byte in line");
            continue;
        }
        p = s->line;
        if (s->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
        }
        p += strspn(p, " \t");
        if (*p == '\0' || *p == '#' || *p == ';') {
            continue;
        }
        len = strlen(p);
        if (len + 2 > (size_t)num) {
            char msg[64];
            snprintf(msg, sizeof(msg), "line longer than %d bytes", num - 2);
            stream_error(s, msg);
            continue;
        }
        if (*p == '[') {
            char *end = strchr(p, ']');
            size_t sl;
            if (end == NULL || end[1 + strspn(end + 1, " \t")] != '\0') {
                stream_error(s, "malformed section header");
                snprintf(s->section, sizeof(s->section), "%s", "\x01");
                continue;
            }
            sl = (size_t)(end - p - 1);
            if (sl >= sizeof(s->section)) {
                stream_error(s, "section name too long");
                snprintf(s->section, sizeof(s->section), "%s", "\x01");
                continue;
            }
            memcpy(s->section, p + 1, sl);
            s->section[sl] = '\0';
            if (!s->handler(s->ctx, s->path, s->lineno, s->section, NULL,
                            NULL)) {
                s->errors++;
            }
        } else {
            eq = strchr(p, '=');
            colon = strchr(p, ':');
            if (eq == NULL || (colon != NULL && colon < eq) || eq == p) {
                stream_error(s, "expected \"key = value\"");
                continue;
            }
            if (s->section[0] == '\x01') {
                /* Inside a section whose header was rejected. */
                continue;
            }
        }
        memcpy(str, p, len);
        str[len] = '\n';
        str[len + 1] = '\0';
        return str;
    }
}

static int
stream_handler(void *user, const char *section, const char *name,
               const char *value)
{
    struct ini_stream *s = user;

    if (name == NULL) {
        /* Section callback of inih builds that have one: already seen. */
        return 1;
    }
    if (!s->handler(s->ctx, s->path, s->lineno, section, name, value)) {
        s->errors++;
    }
    return 1;
}

int
pcl_ini_parse(const char *path, void *fp, pcl_ini_handler handler, void *ctx,
              struct pcl_diag *diag)
{
    struct ini_stream s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.fp = fp;
    s.path = path;
    s.handler = handler;
    s.ctx = ctx;
    s.diag = diag;
    rc = ini_parse_stream(stream_reader, &s, stream_handler, &s);
    if (rc != 0 && s.errors == 0) {
        /* inih found something the reader let through. */
        pcl_diag_add(diag, path, rc > 0 ? rc : 0, "syntax error");
        s.errors++;
    }
    if (ferror((FILE *)fp)) {
        pcl_diag_add(diag, path, 0, "read error");
        s.errors++;
    }
    free(s.line);
    return s.errors == 0 ? PCL_OK : PCL_ERR_CONFIG;
}
