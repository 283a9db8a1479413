/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/cast.h"
#include "portcullis/castread.h"
#include "portcullis/err.h"
#include "portcullis/screen.h"
#include "portcullis/termsafe.h"

/* How often a followed recording is checked for growth, milliseconds. */
#define FOLLOW_POLL_MS 100
#define SPEED_MIN (1.0 / 64)
#define SPEED_MAX 64.0

static volatile sig_atomic_t got_winch;
static volatile sig_atomic_t got_quit;

static void
on_winch(int sig)
{
    (void)sig;
    got_winch = 1;
}

static void
on_quit(int sig)
{
    (void)sig;
    got_quit = 1;
}

struct player {
    struct pcl_replay_opts *o;  /* the caller's copy: in_fd may close */
    const char *path;
    struct pcl_castread *r;
    struct pcl_termsafe *safe;
    FILE *out;
    double speed;
    uint64_t idle_us;           /* 0: no limit */
    bool paused;
    bool live;                  /* follow: caught up, show as it comes */
    uint64_t pos_us;            /* time of the last event shown */
    /* the next event, copied out of the reader */
    bool have_ev;
    char code;
    uint64_t ev_t;
    uint8_t *data;
    size_t len;
    size_t cap;
    uint64_t deadline_ms;       /* when the next event is due */
    uint64_t remain_ms;         /* while paused: what was left */
    int rec_cols;
    int rec_rows;
    uint8_t *fbuf;              /* filter output */
    size_t fcap;
    char *why;
    size_t whylen;
    int seal_fd;                /* follow: the v2 seal sidecar, or -1 */
    int lease_fd;               /* follow: the recording again, or -1 */
};

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
pcl_replay_parse_time(const char *s, uint64_t *us)
{
    double parts[3];
    int n = 0;
    const char *p = s;
    double total = 0;
    int i;

    if (*s == '\0') {
        return PCL_ERR_SYNTAX;
    }
    for (;;) {
        char *end;
        if (n == 3 || !(*p >= '0' && *p <= '9')) {
            return PCL_ERR_SYNTAX;
        }
        parts[n++] = strtod(p, &end);
        if (*end == ':') {
            /* only the last part may have a fraction */
            if (memchr(p, '.', (size_t)(end - p)) != NULL) {
                return PCL_ERR_SYNTAX;
            }
            p = end + 1;
            continue;
        }
        if (*end != '\0') {
            return PCL_ERR_SYNTAX;
        }
        break;
    }
    for (i = 0; i < n; i++) {
        if (i > 0 && parts[i] >= 60) {
            return PCL_ERR_SYNTAX;
        }
        total = total * 60 + parts[i];
    }
    if (!isfinite(total) || total < 0 || total > 1e9) {
        return PCL_ERR_SYNTAX;
    }
    *us = (uint64_t)llround(total * 1e6);
    return PCL_OK;
}

void
pcl_replay_format_time(uint64_t us, char *buf, size_t len)
{
    uint64_t ms = us / 1000;

    snprintf(buf, len, "%02llu:%02llu:%02llu.%03llu",
             (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60),
             (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

/* The analyst's terminal size, or 0x0 when out is not a terminal. */
static void
term_size(int fd, int *cols, int *rows)
{
    struct winsize ws;

    *cols = *rows = 0;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

/* Warns (on stderr) when the recording does not fit the terminal. */
static void
check_fit(struct player *p)
{
    int cols;
    int rows;

    term_size(p->o->out_fd, &cols, &rows);
    if (cols > 0 && (p->rec_cols > cols || p->rec_rows > rows)) {
        fflush(p->out);
        fprintf(stderr,
                "\r\nportcullis-replay: warning: the recording is %dx%d, "
                "this terminal %dx%d: part of it will not show\r\n",
                p->rec_cols, p->rec_rows, cols, rows);
    }
}

static void
put_out(struct player *p, const uint8_t *data, size_t len)
{
    size_t n;

    if (p->o->raw) {
        fwrite(data, 1, len, p->out);
        return;
    }
    n = pcl_termsafe_feed(p->safe, data, len, p->fbuf);
    fwrite(p->fbuf, 1, n, p->out);
}

/* Shows the pending event and clears it. */
static void
show(struct player *p)
{
    int cols;
    int rows;

    switch (p->code) {
    case 'o':
        put_out(p, p->data, p->len);
        break;
    case 'r':
        if (pcl_castread_parse_size(p->data, p->len, &cols, &rows) ==
            PCL_OK) {
            p->rec_cols = cols;
            p->rec_rows = rows;
            check_fit(p);
        }
        break;
    default:
        break; /* i, m, x and unknown codes show nothing */
    }
    fflush(p->out);
    p->pos_us = p->ev_t;
    p->have_ev = false;
}

/* Copies ev into the pending slot. */
static int
hold(struct player *p, const struct pcl_castread_event *ev)
{
    if (ev->len + 1 > p->cap) {
        size_t ncap = ev->len + 1;
        uint8_t *nd = realloc(p->data, ncap);
        uint8_t *nf = realloc(p->fbuf, ncap + PCL_TERMSAFE_HOLD);
        if (nd != NULL) {
            p->data = nd;
        }
        if (nf != NULL) {
            p->fbuf = nf;
        }
        if (nd == NULL || nf == NULL) {
            return PCL_ERR_NOMEM;
        }
        p->cap = ncap;
    }
    memcpy(p->data, ev->data, ev->len);
    p->len = ev->len;
    p->code = ev->code;
    p->ev_t = ev->t_us;
    p->have_ev = true;
    return PCL_OK;
}

/* Sets when the pending event is due, from the time since the last one
 * shown, cut to the idle limit and scaled by the speed. */
static void
schedule(struct player *p)
{
    uint64_t d = p->ev_t > p->pos_us ? p->ev_t - p->pos_us : 0;

    if (p->live) {
        d = 0;
    }
    if (p->idle_us > 0 && d > p->idle_us) {
        d = p->idle_us;
    }
    p->remain_ms = (uint64_t)((double)d / 1000.0 / p->speed);
    p->deadline_ms = now_ms() + p->remain_ms;
}

/* Reads the next event into the pending slot: 1 when there is one, 0 at
 * the end of what is written, or a PCL_ERR_*. */
static int
load(struct player *p)
{
    struct pcl_castread_event ev;
    int rc = pcl_castread_next(p->r, &ev, p->why, p->whylen);

    if (rc != 1) {
        return rc;
    }
    rc = hold(p, &ev);
    if (rc != PCL_OK) {
        return rc;
    }
    schedule(p);
    return 1;
}

/*
 * Draws the screen as it was at t_us: renders the recorded output from an
 * indexed place at least PCL_REPLAY_SEEK_WINDOW bytes before into a fresh
 * screen model at the size in force there, then paints it. The first event
 * after t_us becomes the pending one.
 */
static int
seek_to(struct player *p, uint64_t t_us)
{
    struct pcl_castread_mark at;
    struct pcl_castread_event ev;
    struct pcl_screen *s = NULL;
    uint64_t end_us;
    int rc;

    rc = pcl_castread_locate(p->r, t_us, PCL_REPLAY_SEEK_WINDOW, &at,
                             &end_us);
    if (rc != PCL_OK) {
        pcl_err_why(p->why, p->whylen, "cannot index the recording: %s",
                    pcl_err_str(rc));
        return rc;
    }
    if (t_us > end_us) {
        t_us = end_us;
    }
    rc = pcl_screen_new(at.cols, at.rows, &s);
    if (rc != PCL_OK) {
        return rc;
    }
    rc = pcl_castread_seek(p->r, at.offset, at.t_us);
    if (rc != PCL_OK) {
        goto out;
    }
    p->rec_cols = at.cols;
    p->rec_rows = at.rows;
    p->have_ev = false;
    for (;;) {
        rc = pcl_castread_next(p->r, &ev, p->why, p->whylen);
        if (rc < 0) {
            goto out;
        }
        if (rc == 0) {
            break;
        }
        if (ev.t_us > t_us) {
            rc = hold(p, &ev);
            if (rc != PCL_OK) {
                goto out;
            }
            break;
        }
        if (pcl_screen_event(s, ev.code, ev.data, ev.len)) {
            pcl_screen_size(s, &p->rec_cols, &p->rec_rows);
        }
    }
    {
        int tc;
        int tr;
        term_size(p->o->out_fd, &tc, &tr);
        pcl_screen_paint(s, p->out, tc, tr);
    }
    fflush(p->out);
    if (p->rec_cols != at.cols || p->rec_rows != at.rows) {
        check_fit(p);
    }
    pcl_termsafe_reset(p->safe);
    p->pos_us = t_us;
    if (p->have_ev) {
        schedule(p);
    }
    rc = PCL_OK;
out:
    pcl_screen_free(s);
    return rc;
}

/* Finds the first marker after the pending event's time and seeks to
 * it; rings the bell when there is none. */
static int
next_marker(struct player *p)
{
    struct pcl_castread_event ev;
    off_t off;
    uint64_t base;
    int rc;

    if (p->have_ev && p->code == 'm') {
        show(p);
        return PCL_OK;
    }
    pcl_castread_tell(p->r, &off, &base);
    for (;;) {
        rc = pcl_castread_next(p->r, &ev, p->why, p->whylen);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            fputc('\a', p->out);
            fflush(p->out);
            return pcl_castread_seek(p->r, off, base);
        }
        if (ev.code == 'm') {
            return seek_to(p, ev.t_us);
        }
    }
}

/* True when a followed recording will not grow any more: its seal is
 * there, or no process has it open for writing any longer. */
static bool
follow_done(struct player *p)
{
    char spath[4096];
    struct stat st;
    int fd;
    bool gone = false;

    if (pcl_castread_sealed(p->r)) {
        return true;
    }
    /* Descriptors opened before a privilege was dropped, else paths. */
    if (p->seal_fd >= 0) {
        if (fstat(p->seal_fd, &st) == 0 && st.st_size > 0) {
            return true;
        }
    } else if ((size_t)snprintf(spath, sizeof(spath), "%s%s", p->path,
                                PCL_CAST_SEAL_SUFFIX) < sizeof(spath) &&
               stat(spath, &st) == 0 && st.st_size > 0) {
        return true;
    }
    /* A read lease is granted only while no one has the file open for
     * writing (fcntl(2), F_SETLEASE); it needs the file's owner or
     * CAP_LEASE, and without them only the seal ends the follow. */
    fd = p->lease_fd >= 0
             ? p->lease_fd
             : open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) {
        if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
            gone = true;
            (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        }
        if (fd != p->lease_fd) {
            close(fd);
        }
    }
    return gone;
}

/* Handles one key press (*used gets its length in bytes). Returns 1 to
 * quit. */
static int
key(struct player *p, const uint8_t *k, size_t n, size_t *used, int *err)
{
    int64_t step = 0;

    *err = PCL_OK;
    *used = 1;
    if (n >= 3 && k[0] == 0x1b && (k[1] == '[' || k[1] == 'O')) {
        *used = 3;
        if (k[2] == 'C') {
            step = PCL_REPLAY_SEEK_STEP;
        } else if (k[2] == 'D') {
            step = -PCL_REPLAY_SEEK_STEP;
        } else if (k[2] == 'A') {
            step = 60;
        } else if (k[2] == 'B') {
            step = -60;
        }
    } else if (n >= 1) {
        switch (k[0]) {
        case 'q':
        case 'Q':
        case 0x03: /* ^C */
        case 0x04: /* ^D */
            return 1;
        case ' ':
            if (p->paused) {
                p->paused = false;
                p->deadline_ms = now_ms() + p->remain_ms;
            } else {
                uint64_t t = now_ms();
                p->paused = true;
                p->remain_ms = p->deadline_ms > t ? p->deadline_ms - t : 0;
            }
            break;
        case '.':
            if (p->have_ev) {
                show(p);
                p->remain_ms = 0;
            }
            break;
        case ']':
        case 'm':
            *err = next_marker(p);
            break;
        case 'l':
            step = PCL_REPLAY_SEEK_STEP;
            break;
        case 'h':
            step = -PCL_REPLAY_SEEK_STEP;
            break;
        case '+':
        case '=':
            p->speed = p->speed * 2 > SPEED_MAX ? SPEED_MAX : p->speed * 2;
            break;
        case '-':
            p->speed = p->speed / 2 < SPEED_MIN ? SPEED_MIN : p->speed / 2;
            break;
        default:
            break;
        }
    }
    if (step != 0 && !p->live) {
        uint64_t t = p->pos_us;
        if (step < 0) {
            uint64_t back = (uint64_t)(-step) * 1000000;
            t = t > back ? t - back : 0;
        } else {
            t += (uint64_t)step * 1000000;
        }
        *err = seek_to(p, t);
        if (p->paused && p->have_ev) {
            p->remain_ms = p->deadline_ms - now_ms();
        }
    }
    return 0;
}

static int
play(struct player *p, enum pcl_replay_end *end)
{
    int rc;

    *end = PCL_REPLAY_END_EOF;
    for (;;) {
        struct pollfd pfd = { .fd = p->o->in_fd, .events = POLLIN };
        int timeout;

        if (got_quit) {
            *end = PCL_REPLAY_END_QUIT;
            return PCL_OK;
        }
        if (got_winch) {
            got_winch = 0;
            check_fit(p);
        }
        if (!p->have_ev) {
            rc = load(p);
            if (rc < 0) {
                return rc;
            }
            if (rc == 0) {
                if (!p->o->follow) {
                    return PCL_OK;
                }
                if (follow_done(p)) {
                    /* one last read: what was written before the end */
                    rc = load(p);
                    if (rc <= 0) {
                        return rc;
                    }
                    continue;
                }
                timeout = FOLLOW_POLL_MS;
                goto wait;
            }
        }
        if (p->paused) {
            timeout = -1;
        } else {
            uint64_t t = now_ms();
            if (t >= p->deadline_ms) {
                show(p);
                continue;
            }
            timeout = (int)(p->deadline_ms - t > 1000 ? 1000
                                                      : p->deadline_ms - t);
        }
    wait:
        if (p->o->in_fd < 0) {
            if (timeout != 0) {
                poll(NULL, 0, timeout < 0 ? 1000 : timeout);
            }
            continue;
        }
        rc = poll(&pfd, 1, timeout);
        if (rc < 0 && errno != EINTR) {
            pcl_err_why(p->why, p->whylen, "poll: %s", strerror(errno));
            return PCL_ERR_IO;
        }
        if (rc > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
            uint8_t k[16];
            ssize_t n = read(p->o->in_fd, k, sizeof(k));
            int err;
            if (n <= 0) {
                /* keys gone: keep playing without them */
                p->paused = false;
                p->deadline_ms = now_ms() + p->remain_ms;
                close(p->o->in_fd);
                p->o->in_fd = -1;
                continue;
            }
            for (size_t i = 0, used = 0; i < (size_t)n; i += used) {
                if (key(p, k + i, (size_t)n - i, &used, &err) == 1) {
                    *end = PCL_REPLAY_END_QUIT;
                    return PCL_OK;
                }
                if (err != PCL_OK) {
                    return err;
                }
            }
        }
    }
}

int
pcl_replay_run(const char *path, const struct pcl_replay_opts *o,
               enum pcl_replay_end *end, char *why, size_t whylen)
{
    struct pcl_replay_opts opts = *o;
    struct player p;
    struct termios saved;
    bool restore = false;
    struct sigaction sa;
    struct sigaction old_winch;
    struct sigaction old_int;
    struct sigaction old_term;
    struct sigaction old_hup;
    int ofd = -1;
    int rc;

    memset(&p, 0, sizeof(p));
    p.seal_fd = -1;
    p.lease_fd = -1;
    *end = PCL_REPLAY_END_EOF;
    p.o = &opts;
    p.path = path;
    p.why = why;
    p.whylen = whylen;
    p.speed = o->speed > 0 ? o->speed : 1.0;
    p.paused = o->paused;
    rc = pcl_castread_open(path, &p.r, why, whylen);
    if (rc != PCL_OK) {
        return rc;
    }
    if (o->follow) {
        char spath[4096];
        if ((size_t)snprintf(spath, sizeof(spath), "%s%s", path,
                             PCL_CAST_SEAL_SUFFIX) < sizeof(spath)) {
            p.seal_fd = open(spath, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                        O_NONBLOCK | O_NOFOLLOW);
        }
        p.lease_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                    O_NONBLOCK | O_NOFOLLOW);
    }
    if (o->opened != NULL && o->opened(o->opened_ctx) != 0) {
        rc = PCL_ERR_IO;
        pcl_err_why(why, whylen, "cannot drop privilege");
        goto out;
    }
    rc = pcl_termsafe_new(&p.safe);
    if (rc != PCL_OK) {
        goto out;
    }
    ofd = dup(o->out_fd);
    p.out = ofd >= 0 ? fdopen(ofd, "w") : NULL;
    if (p.out == NULL) {
        if (ofd >= 0) {
            close(ofd);
        }
        rc = PCL_ERR_IO;
        pcl_err_why(why, whylen, "output: %s", strerror(errno));
        goto out;
    }
    {
        const struct pcl_castread_header *h = pcl_castread_header(p.r);
        double idle = o->idle_limit > 0 ? o->idle_limit
                      : o->no_idle_limit ? 0
                                         : h->idle_time_limit;
        p.idle_us = (uint64_t)(idle * 1e6);
        p.rec_cols = h->cols;
        p.rec_rows = h->rows;
    }
    check_fit(&p);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, &old_winch);
    sa.sa_handler = on_quit;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    got_quit = 0;
    got_winch = 0;
    if (opts.in_fd >= 0 && isatty(opts.in_fd) &&
        tcgetattr(opts.in_fd, &saved) == 0) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
        t.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(opts.in_fd, TCSAFLUSH, &t) == 0) {
            restore = true;
        }
    }
    if (o->follow) {
        uint64_t end_us = 0;
        struct pcl_castread_mark at;
        rc = pcl_castread_locate(p.r, UINT64_MAX, 0, &at, &end_us);
        if (rc == PCL_OK) {
            rc = seek_to(&p, opts.at_us > 0 ? opts.at_us : end_us);
        }
        p.live = opts.at_us == 0;
    } else if (opts.at_us > 0) {
        rc = seek_to(&p, opts.at_us);
    }
    if (rc == PCL_OK) {
        rc = play(&p, end);
    }
    fputs("\033[0m", p.out);
    fflush(p.out);
    if (restore) {
        tcsetattr(opts.in_fd, TCSAFLUSH, &saved);
    }
    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (!o->raw && pcl_termsafe_dropped(p.safe) > 0) {
        fprintf(stderr,
                "\r\nportcullis-replay: %lu control sequences that act on "
                "the terminal were not passed%s\r\n",
                pcl_termsafe_dropped(p.safe),
                o->no_raw_hint ? "" : " (--raw passes them)");
    }
out:
    if (p.out != NULL) {
        fclose(p.out);
    }
    if (p.seal_fd >= 0) {
        close(p.seal_fd);
    }
    if (p.lease_fd >= 0) {
        close(p.lease_fd);
    }
    pcl_termsafe_free(p.safe);
    pcl_castread_free(p.r);
    free(p.data);
    free(p.fbuf);
    return rc;
}
