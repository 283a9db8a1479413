/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-replay: plays, follows, searches, verifies and exports the
 * recordings of the portcullis bastion for the security team (see
 * portcullis-replay(1)). Process glue only: the work is in lib/ (castread,
 * replay, termsafe, screen, castexport, castsearch, sessquery, cast).
 * Run as root or as a member of the group that may read the recordings,
 * the index and the seal key.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "portcullis/cast.h"
#include "portcullis/castexport.h"
#include "portcullis/castsearch.h"
#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/ini.h"
#include "portcullis/log.h"
#include "portcullis/replay.h"
#include "portcullis/sessquery.h"

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"
#ifndef PLAYERDIR
#define PLAYERDIR "/usr/local/share/portcullis/player"
#endif

/* Exit statuses (portcullis-replay(1), EXIT STATUS). verify uses the
 * seal states of pcl_cast_verify: 0 valid, 1 unsealed, 2 tampered, 3 key
 * unknown. */
#define EXIT_OK 0
#define EXIT_NOMATCH 1 /* search: no session showed the pattern */
#define EXIT_ERROR 4   /* usage, configuration, unreadable file */
#define EXIT_TAMPERED 2 /* play: the seal does not verify (as verify) */

/* Options shared by the subcommands. */
struct ctx {
    const char *config_path;
    const char *index;          /* --index, or from the config */
    const char *key_path;       /* -k, or from the config */
    struct pcl_conf *conf;
};

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr,
            "usage: portcullis-replay [-pR] [-f config] [-s speed] "
            "[-i idle | -I] [--at time]\n"
            "                         [--follow] file | session-id\n"
            "       portcullis-replay verify [-f config] [-k key] "
            "file | session-id\n"
            "       portcullis-replay list [-f config] [--user user] "
            "[--target target]\n"
            "                         [--since time] [--until time] "
            "[--command text] [--exit n] [--json]\n"
            "       portcullis-replay search [-f config] [-c] [filters] "
            "pattern [file | session-id ...]\n"
            "       portcullis-replay export --text | --cast 2|3 | "
            "--html [-o out] file | session-id\n");
    exit(EXIT_ERROR);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
    va_list ap;

    fputs("portcullis-replay: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_ERROR);
}

static void
load_conf(struct ctx *c)
{
    struct pcl_diag *diag = NULL;

    if (c->conf != NULL) {
        return;
    }
    if (pcl_diag_new(&diag) != PCL_OK ||
        pcl_conf_load(c->config_path, diag, &c->conf) != PCL_OK) {
        for (size_t k = 0; diag != NULL && k < pcl_diag_count(diag); k++) {
            fprintf(stderr, "%s\n", pcl_diag_get(diag, k));
        }
        pcl_diag_free(diag);
        exit(EXIT_ERROR);
    }
    pcl_diag_free(diag);
}

static const char *
index_path(struct ctx *c)
{
    if (c->index != NULL) {
        return c->index;
    }
    load_conf(c);
    if (c->conf->rec_index == NULL || c->conf->rec_index[0] == '\0') {
        fatal("%s: no session index (index key of [recording])",
              c->config_path);
    }
    return c->conf->rec_index;
}

struct found {
    char *path;
    int count;
};

static int
found_row(const struct pcl_sessquery_row *row, void *arg)
{
    struct found *f = arg;

    f->count++;
    if (f->count == 1 && row->recording != NULL) {
        f->path = strdup(row->recording);
    }
    return 0;
}

/* A file name as given, or the recording of a session id (or a unique
 * prefix of one, at least 6 hex digits) from the index. Caller frees. */
static char *
resolve(struct ctx *c, const char *arg)
{
    struct pcl_sessquery_filter f;
    struct found fd = { NULL, 0 };
    char why[512];
    char esc[256];
    size_t n = strlen(arg);
    int rc;

    if (strchr(arg, '/') != NULL || access(arg, F_OK) == 0 || n < 6 ||
        strspn(arg, "0123456789abcdef") != n) {
        char *p = strdup(arg);
        if (p == NULL) {
            fatal("out of memory");
        }
        return p;
    }
    memset(&f, 0, sizeof(f));
    f.session_id = arg;
    rc = pcl_sessquery_run(index_path(c), &f, found_row, &fd, why,
                           sizeof(why));
    if (rc != PCL_OK) {
        fatal("session index: %s", why);
    }
    if (fd.count == 0) {
        fatal("no session %s in the index",
              pcl_sessquery_escape(arg, esc, sizeof(esc)));
    }
    if (fd.count > 1) {
        fatal("%s names %d sessions: give more of the id", arg, fd.count);
    }
    if (fd.path == NULL) {
        fatal("session %s has no recording in the index", arg);
    }
    return fd.path;
}

/* ------------------------------------------------------------ seal */

static const char *const seal_names[] = {
    "valid", "unsealed", "tampered", "key-unknown",
};

/*
 * Checks the seal of the recording at path with the key of -k, else the
 * seal-key of portcullis.conf (an unreadable key is reported on stderr and
 * the chain is checked without it). Returns PCL_OK with *v filled, or an
 * error with v->why saying why the file could not be checked at all.
 */
static int
check_seal(struct ctx *c, const char *path, struct pcl_cast_verdict *v)
{
    char why[512];
    int rc;

    if (c->key_path == NULL) {
        load_conf(c);
        c->key_path = c->conf->rec_seal_key;
    }
    rc = pcl_cast_verify_keyfile(path, c->key_path, v, why, sizeof(why));
    if (why[0] != '\0') {
        fprintf(stderr, "portcullis-replay: seal key: %s\n", why);
    }
    return rc;
}

/* ------------------------------------------------------------ play */

static int
cmd_play(struct ctx *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "speed", required_argument, NULL, 's' },
        { "idle-limit", required_argument, NULL, 'i' },
        { "no-idle-limit", no_argument, NULL, 'I' },
        { "paused", no_argument, NULL, 'p' },
        { "raw", no_argument, NULL, 'R' },
        { "at", required_argument, NULL, 'a' },
        { "follow", no_argument, NULL, 'F' },
        { "config", required_argument, NULL, 'f' },
        { "index", required_argument, NULL, 'x' },
        { "key", required_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    struct pcl_cast_verdict v;
    char warning[1536] = "";
    bool force = false;
    struct pcl_replay_opts o;
    enum pcl_replay_end end;
    char why[512] = "";
    char *path;
    char *e;
    int ch;
    int rc;

    memset(&o, 0, sizeof(o));
    o.speed = 1.0;
    o.in_fd = STDIN_FILENO;
    o.out_fd = STDOUT_FILENO;
    while ((ch = getopt_long(argc, argv, "s:i:IpRf:k:", longopts, NULL)) !=
           -1) {
        switch (ch) {
        case 'k':
            c->key_path = optarg;
            break;
        case 'W':
            force = true;
            break;
        case 's':
            o.speed = strtod(optarg, &e);
            if (*e != '\0' || !(o.speed >= 1.0 / 64 && o.speed <= 64)) {
                fatal("-s: a speed from 0.016 to 64");
            }
            break;
        case 'i':
            o.idle_limit = strtod(optarg, &e);
            if (*e != '\0' || !(o.idle_limit > 0 && o.idle_limit < 1e6)) {
                fatal("-i: a number of seconds above 0");
            }
            break;
        case 'I':
            o.no_idle_limit = true;
            break;
        case 'p':
            o.paused = true;
            break;
        case 'R':
            o.raw = true;
            break;
        case 'a':
            if (pcl_replay_parse_time(optarg, &o.at_us) != PCL_OK) {
                fatal("--at: seconds, MM:SS or HH:MM:SS[.fff]");
            }
            break;
        case 'F':
            o.follow = true;
            break;
        case 'f':
            c->config_path = optarg;
            break;
        case 'x':
            c->index = optarg;
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 1) {
        usage();
    }
    if (!isatty(STDIN_FILENO)) {
        /* Nothing could ever resume a paused player without keys. */
        if (o.paused) {
            fatal("-p needs a terminal on standard input (the keys that "
                  "resume)");
        }
        o.in_fd = -1; /* no keys: play straight through */
    }
    path = resolve(c, argv[optind]);
    /* The analyst learns first whether the file is what was recorded. A
     * live session (--follow) has no seal yet. */
    if (!o.follow) {
        char esc[1024];

        memset(&v, 0, sizeof(v));
        /* Without -k, -f or the default portcullis.conf (a recording
         * copied to an analyst's machine): the chain alone is checked. */
        if (c->key_path == NULL && c->conf == NULL &&
            access(c->config_path, F_OK) != 0) {
            c->key_path = "";
        }
        pcl_sessquery_escape(path, esc, sizeof(esc));
        if (check_seal(c, path, &v) != PCL_OK) {
            snprintf(warning, sizeof(warning), "portcullis-replay: WARNING: "
                     "%s: the seal cannot be checked: %s\n", esc, v.why);
        } else if (v.state == PCL_CAST_SEAL_TAMPERED && !force) {
            fprintf(stderr, "portcullis-replay: %s: the seal does not verify "
                    "(tampered%s%s): not played; --force plays it anyway\n",
                    esc, v.why[0] != '\0' ? ": " : "", v.why);
            free(path);
            return EXIT_TAMPERED;
        } else if (v.state != PCL_CAST_SEAL_VALID) {
            snprintf(warning, sizeof(warning), "portcullis-replay: "
                     "WARNING: %s: seal %s%s%s: what is shown may not be "
                     "what was recorded\n", esc, seal_names[v.state],
                     v.why[0] != '\0' ? ": " : "", v.why);
        }
        fputs(warning, stderr);
    }
    rc = pcl_replay_run(path, &o, &end, why, sizeof(why));
    free(path);
    /* Again once the screen is the analyst's: playback may have hidden
     * the first one. */
    fputs(warning, stderr);
    if (rc != PCL_OK) {
        fatal("%s", why[0] != '\0' ? why : pcl_err_str(rc));
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ verify */

static int
cmd_verify(struct ctx *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "key", required_argument, NULL, 'k' },
        { "config", required_argument, NULL, 'f' },
        { "index", required_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    struct pcl_cast_verdict v;
    char *path;
    int ch;

    while ((ch = getopt_long(argc, argv, "k:f:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'k':
            c->key_path = optarg;
            break;
        case 'f':
            c->config_path = optarg;
            break;
        case 'x':
            c->index = optarg;
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 1) {
        usage();
    }
    path = resolve(c, argv[optind]);
    memset(&v, 0, sizeof(v));
    if (check_seal(c, path, &v) != PCL_OK) {
        fatal("%s", v.why);
    }
    {
        char esc[1024];
        printf("%s: %s lines=%llu bytes=%llu chain=%s key=%s%s%s\n",
               pcl_sessquery_escape(path, esc, sizeof(esc)),
               seal_names[v.state], (unsigned long long)v.lines,
               (unsigned long long)v.bytes, v.chain,
               v.key_id[0] != '\0' ? v.key_id : "-",
               v.why[0] != '\0' ? " why=" : "", v.why);
    }
    free(path);
    return (int)v.state;
}

/* ------------------------------------------------------------ list */

/* Unix seconds from "@N", "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (UTC) or
 * "Nd"/"Nh"/"Nm" ago. */
static int64_t
parse_when(const char *s, const char *opt)
{
    struct tm tm;
    char *e;
    const char *p;

    if (s[0] == '@') {
        long long n = strtoll(s + 1, &e, 10);
        if (e != s + 1 && *e == '\0') {
            return n;
        }
    } else if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
        long long n = strtoll(s, &e, 10);
        long long mult = *e == 'd' ? 86400 : *e == 'h' ? 3600
                                         : *e == 'm'   ? 60
                                                       : 0;
        if (mult != 0 && e[1] == '\0' && n >= 0 && n < 100000) {
            return (int64_t)time(NULL) - n * mult;
        }
    } else {
        memset(&tm, 0, sizeof(tm));
        p = strptime(s, "%Y-%m-%d", &tm);
        if (p != NULL && *p != '\0') {
            p = strptime(p, " %H:%M", &tm);
            if (p != NULL && *p == ':') {
                p = strptime(p, ":%S", &tm);
            }
        }
        if (p != NULL && *p == '\0') {
            return (int64_t)timegm(&tm);
        }
    }
    fatal("%s: @SECONDS, YYYY-MM-DD[ HH:MM[:SS]] (UTC) or Nd, Nh, Nm ago",
          opt);
}

struct list_ctx {
    bool json;
    json_object *arr;
    int n;
};

/* Strings for JSON: the stored bytes, escaped so that the output is valid
 * UTF-8 with no control characters a terminal could act on. */
static json_object *
jstr(const char *s)
{
    char esc[4096];

    if (s == NULL) {
        return NULL;
    }
    return json_object_new_string(pcl_sessquery_escape(s, esc, sizeof(esc)));
}

static int
list_row(const struct pcl_sessquery_row *r, void *arg)
{
    struct list_ctx *l = arg;

    l->n++;
    if (l->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "session_id", jstr(r->session_id));
        json_object_object_add(o, "start", json_object_new_int64(r->start));
        json_object_object_add(o, "end", r->has_end
                                             ? json_object_new_int64(r->end)
                                             : NULL);
        json_object_object_add(o, "user", jstr(r->user));
        json_object_object_add(o, "source", jstr(r->source));
        json_object_object_add(o, "target", jstr(r->target));
        json_object_object_add(o, "account", jstr(r->account));
        json_object_object_add(o, "command", jstr(r->command));
        json_object_object_add(o, "exit_status",
                               r->has_exit
                                   ? json_object_new_int(r->exit_status)
                                   : NULL);
        json_object_object_add(o, "exit_signal", jstr(r->exit_signal));
        json_object_object_add(o, "seal", jstr(r->seal));
        json_object_object_add(o, "recording", jstr(r->recording));
        json_object_array_add(l->arr, o);
    } else {
        pcl_sessquery_print_row(stdout, r);
    }
    return 0;
}

static const struct option filter_opts[] = {
    { "user", required_argument, NULL, 'u' },
    { "target", required_argument, NULL, 't' },
    { "since", required_argument, NULL, 'S' },
    { "until", required_argument, NULL, 'U' },
    { "command", required_argument, NULL, 'C' },
    { "exit", required_argument, NULL, 'e' },
    { "json", no_argument, NULL, 'j' },
    { "config", required_argument, NULL, 'f' },
    { "index", required_argument, NULL, 'x' },
    { "ignore-case", no_argument, NULL, 'c' },
    { NULL, 0, NULL, 0 },
};

/* Parses the filter options shared by list and search; returns the
 * option character for options it does not know. */
static int
filter_opt(struct ctx *c, int ch, struct pcl_sessquery_filter *f,
           bool *json)
{
    char *e;
    long n;

    switch (ch) {
    case 'u':
        f->user = optarg;
        return 0;
    case 't':
        f->target = optarg;
        return 0;
    case 'S':
        f->has_since = true;
        f->since = parse_when(optarg, "--since");
        return 0;
    case 'U':
        f->has_until = true;
        f->until = parse_when(optarg, "--until");
        return 0;
    case 'C':
        f->command = optarg;
        return 0;
    case 'e':
        n = strtol(optarg, &e, 10);
        if (*e != '\0' || e == optarg || n < 0 || n > 255) {
            fatal("--exit: a status from 0 to 255");
        }
        f->has_exit = true;
        f->exit_status = (int)n;
        return 0;
    case 'j':
        *json = true;
        return 0;
    case 'f':
        c->config_path = optarg;
        return 0;
    case 'x':
        c->index = optarg;
        return 0;
    default:
        return ch;
    }
}

static int
cmd_list(struct ctx *c, int argc, char **argv)
{
    struct pcl_sessquery_filter f;
    struct list_ctx l;
    char why[512] = "";
    int ch;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&l, 0, sizeof(l));
    while ((ch = getopt_long(argc, argv, "f:", filter_opts, NULL)) != -1) {
        if (filter_opt(c, ch, &f, &l.json) != 0) {
            usage();
        }
    }
    if (optind != argc) {
        usage();
    }
    if (l.json) {
        l.arr = json_object_new_array();
    } else {
        pcl_sessquery_print_heading(stdout);
    }
    rc = pcl_sessquery_run(index_path(c), &f, list_row, &l, why,
                           sizeof(why));
    if (rc != PCL_OK) {
        json_object_put(l.arr);
        fatal("session index: %s", why);
    }
    if (l.json) {
        printf("%s\n", json_object_to_json_string_ext(
                           l.arr, JSON_C_TO_STRING_PRETTY |
                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(l.arr);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ search */

struct search_ctx {
    const char *id;             /* shown name of the session */
    bool json;
    json_object *arr;
    unsigned long hits;
};

static int
search_hit(uint64_t t_us, int row, const char *text, size_t len, void *arg)
{
    struct search_ctx *s = arg;
    char when[32];
    char esc[2048];
    char *tmp = strndup(text, len);

    if (tmp == NULL) {
        return PCL_ERR_NOMEM;
    }
    pcl_replay_format_time(t_us, when, sizeof(when));
    pcl_sessquery_escape(tmp, esc, sizeof(esc));
    free(tmp);
    s->hits++;
    if (s->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "session", jstr(s->id));
        json_object_object_add(o, "time", json_object_new_double(
                                              (double)t_us / 1e6));
        json_object_object_add(o, "at", json_object_new_string(when));
        json_object_object_add(o, "row", json_object_new_int(row + 1));
        json_object_object_add(o, "text", json_object_new_string(esc));
        json_object_array_add(s->arr, o);
    } else {
        char id[256];
        printf("%s  %s  %3d  %s\n",
               pcl_sessquery_escape(s->id, id, sizeof(id)), when, row + 1,
               esc);
    }
    return 0;
}

struct id_list {
    char **ids;
    char **paths;
    size_t n;
};

static int
collect_row(const struct pcl_sessquery_row *r, void *arg)
{
    struct id_list *l = arg;
    char **ni;
    char **np;

    if (r->recording == NULL || r->session_id == NULL) {
        return 0;
    }
    ni = realloc(l->ids, (l->n + 1) * sizeof(*ni));
    if (ni != NULL) {
        l->ids = ni;
    }
    np = realloc(l->paths, (l->n + 1) * sizeof(*np));
    if (np != NULL) {
        l->paths = np;
    }
    if (ni == NULL || np == NULL) {
        return PCL_ERR_NOMEM;
    }
    l->ids[l->n] = strdup(r->session_id);
    l->paths[l->n] = strdup(r->recording);
    if (l->ids[l->n] == NULL || l->paths[l->n] == NULL) {
        return PCL_ERR_NOMEM;
    }
    l->n++;
    return 0;
}

static int
cmd_search(struct ctx *c, int argc, char **argv)
{
    struct pcl_sessquery_filter f;
    struct search_ctx s;
    struct id_list l = { NULL, NULL, 0 };
    pcre2_code *re;
    uint32_t flags = PCRE2_UTF | PCRE2_UCP;
    char why[512] = "";
    uint64_t total = 0;
    int errcode;
    PCRE2_SIZE erroff;
    int ch;
    int rc;
    size_t i;

    memset(&f, 0, sizeof(f));
    memset(&s, 0, sizeof(s));
    while ((ch = getopt_long(argc, argv, "cf:", filter_opts, NULL)) != -1) {
        ch = filter_opt(c, ch, &f, &s.json);
        if (ch == 'c') {
            flags |= PCRE2_CASELESS;
        } else if (ch != 0) {
            usage();
        }
    }
    if (optind >= argc) {
        usage();
    }
    re = pcre2_compile((PCRE2_SPTR)argv[optind], PCRE2_ZERO_TERMINATED,
                       flags, &errcode, &erroff, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        fatal("pattern, at offset %zu: %s", (size_t)erroff, (char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    if (optind + 1 < argc) {
        for (i = (size_t)optind + 1; i < (size_t)argc; i++) {
            struct id_list one = { NULL, NULL, 0 };
            char *p = resolve(c, argv[i]);
            struct pcl_sessquery_row r;
            memset(&r, 0, sizeof(r));
            r.session_id = argv[i];
            r.recording = p;
            if (collect_row(&r, &one) != 0 ||
                collect_row(&r, &l) != 0) {
                fatal("out of memory");
            }
            free(one.ids[0]);
            free(one.paths[0]);
            free(one.ids);
            free(one.paths);
            free(p);
        }
    } else {
        rc = pcl_sessquery_run(index_path(c), &f, collect_row, &l, why,
                               sizeof(why));
        if (rc != PCL_OK) {
            fatal("session index: %s", why[0] ? why : pcl_err_str(rc));
        }
    }
    if (s.json) {
        s.arr = json_object_new_array();
    }
    rc = PCL_OK;
    for (i = 0; i < l.n; i++) {
        uint64_t bytes = 0;
        int r;

        s.id = l.ids[i];
        r = pcl_castsearch_run(l.paths[i], re, search_hit, &s, &bytes, why,
                               sizeof(why));
        total += bytes;
        if (r != PCL_OK) {
            char esc[512];
            fprintf(stderr, "portcullis-replay: %s: %s\n",
                    pcl_sessquery_escape(l.paths[i], esc, sizeof(esc)),
                    why[0] ? why : pcl_err_str(r));
            rc = r;
        }
        free(l.ids[i]);
        free(l.paths[i]);
    }
    free(l.ids);
    free(l.paths);
    pcre2_code_free(re);
    if (s.json) {
        printf("%s\n", json_object_to_json_string_ext(
                           s.arr, JSON_C_TO_STRING_PRETTY |
                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(s.arr);
    }
    if (rc != PCL_OK) {
        return EXIT_ERROR;
    }
    return s.hits > 0 ? EXIT_OK : EXIT_NOMATCH;
}

/* ------------------------------------------------------------ export */

static int
cmd_export(struct ctx *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "text", no_argument, NULL, 'T' },
        { "cast", required_argument, NULL, 'C' },
        { "html", no_argument, NULL, 'H' },
        { "output", required_argument, NULL, 'o' },
        { "player-dir", required_argument, NULL, 'P' },
        { "config", required_argument, NULL, 'f' },
        { "index", required_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    const char *out_path = NULL;
    const char *player = PLAYERDIR;
    int kind = 0;
    int version = 0;
    char why[512] = "";
    FILE *out = stdout;
    char *path;
    int ch;
    int rc;

    while ((ch = getopt_long(argc, argv, "o:f:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'T':
        case 'H':
            kind = ch;
            break;
        case 'C':
            kind = ch;
            if (strcmp(optarg, "2") == 0 || strcmp(optarg, "v2") == 0) {
                version = 2;
            } else if (strcmp(optarg, "3") == 0 ||
                       strcmp(optarg, "v3") == 0) {
                version = 3;
            } else {
                fatal("--cast: v2 or v3");
            }
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'P':
            player = optarg;
            break;
        case 'f':
            c->config_path = optarg;
            break;
        case 'x':
            c->index = optarg;
            break;
        default:
            usage();
        }
    }
    if (kind == 0 || argc - optind != 1) {
        usage();
    }
#ifndef HTML_EXPORT
    if (kind == 'H') {
        fatal("--html: this build has no HTML export "
              "(configure --disable-html-export)");
    }
#endif
    path = resolve(c, argv[optind]);
    if (out_path != NULL && strcmp(out_path, "-") != 0) {
        /* Never through a planted link, never over an existing file. */
        int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                    O_CLOEXEC,
                      0640);
        out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (out == NULL) {
            int e = errno;

            free(path);
            fatal("%s: %s", out_path, strerror(e));
        }
    }
    if (kind == 'T') {
        rc = pcl_castexport_text(path, out, why, sizeof(why));
    } else if (kind == 'C') {
        rc = pcl_castexport_cast(path, version, out, why, sizeof(why));
    } else {
        rc = pcl_castexport_html(path, player, out, why, sizeof(why));
    }
    free(path);
    if (out != stdout && fclose(out) != 0 && rc == PCL_OK) {
        fatal("%s: %s", out_path, strerror(errno));
    }
    if (rc != PCL_OK) {
        if (out != stdout) {
            unlink(out_path);
        }
        fatal("%s", why[0] ? why : pcl_err_str(rc));
    }
    return EXIT_OK;
}

int
main(int argc, char **argv)
{
    struct ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.config_path = DEFAULT_CONFIG;
    setlocale(LC_CTYPE, "");
    umask(027);
    pcl_log_init("portcullis-replay", PCL_LOG_STDERR, PCL_LOG_INFO);
    if (argc < 2) {
        usage();
    }
    if (strcmp(argv[1], "verify") == 0) {
        rc = cmd_verify(&c, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "list") == 0) {
        rc = cmd_list(&c, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "search") == 0) {
        rc = cmd_search(&c, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "export") == 0) {
        rc = cmd_export(&c, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "play") == 0) {
        rc = cmd_play(&c, argc - 1, argv + 1);
    } else {
        rc = cmd_play(&c, argc, argv);
    }
    pcl_conf_free(c.conf);
    return rc;
}
