/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/castexport.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "portcullis/cast.h"
#include "portcullis/castread.h"
#include "portcullis/err.h"
#include "portcullis/screen.h"
#include "portcullis/sessquery.h"

#define FACT_MAX 1024

/* Calls fn for each string in the header's "portcullis" object. */
static void
each_fact(const struct pcl_castread_header *h,
          void (*fn)(const char *k, const char *v, void *ctx), void *ctx)
{
    json_object *o = json_tokener_parse(h->raw);
    json_object *pc;

    if (o != NULL && json_object_object_get_ex(o, "portcullis", &pc) &&
        json_object_is_type(pc, json_type_object)) {
        json_object_object_foreach(pc, k, v)
        {
            if (json_object_is_type(v, json_type_string)) {
                fn(k, json_object_get_string(v), ctx);
            }
        }
    }
    json_object_put(o);
}

static void
text_fact(const char *k, const char *v, void *ctx)
{
    char ek[128];
    char ev[FACT_MAX];

    fprintf(ctx, "# %s: %s\n", pcl_sessquery_escape(k, ek, sizeof(ek)),
            pcl_sessquery_escape(v, ev, sizeof(ev)));
}

static void
text_line(const char *text, size_t len, void *ctx)
{
    fwrite(text, 1, len, ctx);
    fputc('\n', ctx);
}

int
pcl_castexport_text(const char *path, FILE *out, char *why, size_t whylen)
{
    struct pcl_castread *r = NULL;
    struct pcl_screen *s = NULL;
    struct pcl_castread_event ev;
    const struct pcl_castread_header *h;
    char *row = NULL;
    int cols;
    int rows;
    int last;
    int y;
    int rc;

    rc = pcl_castread_open(path, &r, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    h = pcl_castread_header(r);
    each_fact(h, text_fact, out);
    rc = pcl_screen_new(h->cols, h->rows, &s);
    if (rc != PCL_OK) {
        goto out;
    }
    pcl_screen_on_scroll(s, text_line, out);
    while ((rc = pcl_castread_next(r, &ev, why, whylen)) == 1) {
        (void)pcl_screen_event(s, ev.code, ev.data, ev.len);
    }
    if (rc < 0) {
        goto out;
    }
    pcl_screen_size(s, &cols, &rows);
    row = malloc((size_t)cols * 4 * 6 + 1);
    if (row == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    last = -1;
    for (y = 0; y < rows; y++) {
        if (pcl_screen_row_text(s, y, row, (size_t)cols * 24 + 1) > 0) {
            last = y;
        }
    }
    for (y = 0; y <= last; y++) {
        size_t n = pcl_screen_row_text(s, y, row, (size_t)cols * 24 + 1);
        text_line(row, n, out);
    }
    rc = PCL_OK;
    if (fflush(out) != 0 || ferror(out)) {
        pcl_err_why(why, whylen, "write: %s", strerror(errno));
        rc = PCL_ERR_IO;
    }
out:
    free(row);
    pcl_screen_free(s);
    pcl_castread_free(r);
    return rc;
}

/* The header of the other version: "version" and the size first (as
 * asciinema writes them), then the original's other keys in their order,
 * the "portcullis" object included. Returns a new object or NULL. */
static json_object *
convert_header(const struct pcl_castread_header *h, int version)
{
    json_object *in = json_tokener_parse(h->raw);
    json_object *o;

    if (in == NULL || !json_object_is_type(in, json_type_object)) {
        json_object_put(in);
        return NULL;
    }
    o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(version));
    if (version == 2) {
        json_object_object_add(o, "width", json_object_new_int(h->cols));
        json_object_object_add(o, "height", json_object_new_int(h->rows));
    } else {
        json_object *term = json_object_new_object();
        json_object_object_add(term, "cols", json_object_new_int(h->cols));
        json_object_object_add(term, "rows", json_object_new_int(h->rows));
        if (h->term[0] != '\0') {
            json_object_object_add(term, "type",
                                   json_object_new_string(h->term));
        }
        json_object_object_add(o, "term", term);
    }
    json_object_object_foreach(in, k, v)
    {
        if (strcmp(k, "version") == 0 || strcmp(k, "width") == 0 ||
            strcmp(k, "height") == 0 || strcmp(k, "term") == 0) {
            continue;
        }
        if (strcmp(k, "env") == 0 && json_object_is_type(v, json_type_object)) {
            json_object *env = json_object_new_object();
            json_object_object_foreach(v, ek, ev)
            {
                if (strcmp(ek, "TERM") != 0) {
                    json_object_object_add(env, ek, json_object_get(ev));
                }
            }
            if (version == 2 && h->term[0] != '\0') {
                json_object_object_add(env, "TERM",
                                       json_object_new_string(h->term));
            }
            json_object_object_add(o, "env", env);
            continue;
        }
        json_object_object_add(o, k, json_object_get(v));
    }
    json_object_put(in);
    return o;
}

static void
put_event(FILE *out, uint64_t t_us, char code, const uint8_t *data,
          size_t len)
{
    json_object *s = json_object_new_string_len((const char *)data,
                                                (int)len);

    fprintf(out, "[%llu.%06llu, \"%c\", %s]\n",
            (unsigned long long)(t_us / 1000000),
            (unsigned long long)(t_us % 1000000), code,
            json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(s);
}

int
pcl_castexport_cast(const char *path, int version, FILE *out, char *why,
                    size_t whylen)
{
    struct pcl_castread *r = NULL;
    struct pcl_castread_event ev;
    json_object *hdr = NULL;
    uint64_t prev = 0;
    int rc;

    if (version != 2 && version != 3) {
        pcl_err_why(why, whylen, "asciicast version 2 or 3");
        return PCL_ERR_INVAL;
    }
    rc = pcl_castread_open(path, &r, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    hdr = convert_header(pcl_castread_header(r), version);
    if (hdr == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    fprintf(out, "%s\n",
            json_object_to_json_string_ext(hdr,
                                           JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    while ((rc = pcl_castread_next(r, &ev, why, whylen)) == 1) {
        char code = ev.code;
        const uint8_t *data = ev.data;
        size_t len = ev.len;
        char label[64];

        if (version == 2 && code == 'x') {
            int n = snprintf(label, sizeof(label), "%s%.*s",
                             PCL_CAST_MARK_EXIT,
                             (int)(len < 32 ? len : 32), (const char *)data);
            code = 'm';
            data = (const uint8_t *)label;
            len = (size_t)n;
        }
        put_event(out, version == 3 ? ev.t_us - prev : ev.t_us, code, data,
                  len);
        prev = ev.t_us;
    }
    if (rc < 0) {
        goto out;
    }
    rc = PCL_OK;
    if (fflush(out) != 0 || ferror(out)) {
        pcl_err_why(why, whylen, "write: %s", strerror(errno));
        rc = PCL_ERR_IO;
    }
out:
    json_object_put(hdr);
    pcl_castread_free(r);
    return rc;
}

/* Reads a whole file of the player bundle. */
static char *
slurp(const char *dir, const char *name, char *why, size_t whylen)
{
    char path[4096];
    FILE *fp;
    char *buf = NULL;
    size_t len = 0;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path)) {
        return NULL;
    }
    fp = fopen(path, "re");
    if (fp == NULL) {
        pcl_err_why(why, whylen, "%s: %s (was the HTML export built? "
                                 "configure --disable-html-export leaves "
                                 "it out)", path, strerror(errno));
        return NULL;
    }
    if (getdelim(&buf, &len, '\0', fp) < 0) {
        free(buf);
        buf = NULL;
        pcl_err_why(why, whylen, "%s: cannot read", path);
    }
    fclose(fp);
    return buf;
}

/* HTML text: & < > " ' as character references; control bytes dropped. */
static void
html_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(c, out);
        }
    }
}

static void
html_fact(const char *k, const char *v, void *ctx)
{
    char ek[128];
    char ev[FACT_MAX];

    fputs("<tr><th>", ctx);
    html_text(ctx, pcl_sessquery_escape(k, ek, sizeof(ek)));
    fputs("</th><td>", ctx);
    html_text(ctx, pcl_sessquery_escape(v, ev, sizeof(ev)));
    fputs("</td></tr>\n", ctx);
}

/* A JSON string that is also safe inside <script>: no "<", ">" or "&"
 * (so never "</script" or "<!--"), and no U+2028/U+2029. */
static void
script_string(FILE *out, const char *s, size_t len)
{
    json_object *o = json_object_new_string_len(s, (int)len);
    const char *j = json_object_to_json_string_ext(o,
                                                   JSON_C_TO_STRING_PLAIN);

    for (; *j != '\0'; j++) {
        unsigned char c = (unsigned char)*j;
        if (c == '<' || c == '>' || c == '&') {
            fprintf(out, "\\u%04x", c);
        } else if (c == 0xe2 && (unsigned char)j[1] == 0x80 &&
                   ((unsigned char)j[2] == 0xa8 ||
                    (unsigned char)j[2] == 0xa9)) {
            fprintf(out, "\\u%04x", (unsigned char)j[2] == 0xa8 ? 0x2028
                                                                 : 0x2029);
            j += 2;
        } else {
            fputc(c, out);
        }
    }
    json_object_put(o);
}

/* The inlined script must not end its element early either. */
static bool
script_safe(const char *js)
{
    return strstr(js, "</script") == NULL && strstr(js, "</SCRIPT") == NULL;
}

int
pcl_castexport_html(const char *path, const char *player_dir, FILE *out,
                    char *why, size_t whylen)
{
    struct pcl_castread *r = NULL;
    char *js = NULL;
    char *css = NULL;
    char *cast = NULL;
    size_t castlen = 0;
    FILE *mem = NULL;
    int rc = PCL_ERR_NOTFOUND;

    js = slurp(player_dir, PCL_CASTEXPORT_PLAYER_JS, why, whylen);
    css = js != NULL ? slurp(player_dir, PCL_CASTEXPORT_PLAYER_CSS, why,
                             whylen)
                     : NULL;
    if (js == NULL || css == NULL) {
        goto out;
    }
    if (!script_safe(js) || strstr(css, "</style") != NULL) {
        pcl_err_why(why, whylen, "the player bundle would end its element");
        rc = PCL_ERR_INVAL;
        goto out;
    }
    mem = open_memstream(&cast, &castlen);
    if (mem == NULL) {
        rc = PCL_ERR_NOMEM;
        goto out;
    }
    rc = pcl_castexport_cast(path, 2, mem, why, whylen);
    fclose(mem);
    if (rc != PCL_OK) {
        goto out;
    }
    rc = pcl_castread_open(path, &r, why, whylen);
    if (rc != PCL_OK) {
        goto out;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\""
          "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; "
          "style-src 'unsafe-inline'; img-src data:; font-src data:\">\n"
          "<title>session recording</title>\n<style>",
          out);
    fputs(css, out);
    fputs("\nbody{font-family:sans-serif;margin:1em}"
          "table.facts th{text-align:left;padding-right:1em}</style>\n"
          "</head><body>\n<table class=\"facts\">\n",
          out);
    each_fact(pcl_castread_header(r), html_fact, out);
    fputs("</table>\n<div id=\"player\"></div>\n<script>", out);
    fputs(js, out);
    fputs("</script>\n<script>\nconst CAST = ", out);
    script_string(out, cast, castlen);
    fputs(";\nwindow.events = [];\n"
          "window.player = AsciinemaPlayer.create({ data: CAST },\n"
          "  document.getElementById('player'),\n"
          "  { fit: false, controls: true, preload: true });\n"
          "for (const ev of ['playing', 'ended', 'marker'])\n"
          "  window.player.addEventListener(ev, () => "
          "window.events.push(ev));\n"
          "</script>\n</body></html>\n",
          out);
    rc = PCL_OK;
    if (fflush(out) != 0 || ferror(out)) {
        pcl_err_why(why, whylen, "write: %s", strerror(errno));
        rc = PCL_ERR_IO;
    }
out:
    pcl_castread_free(r);
    free(cast);
    free(js);
    free(css);
    return rc;
}
