/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/relay.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libssh/server.h>

#include "portcullis/buf.h"
#include "portcullis/err.h"
#include "portcullis/log.h"

/* Bytes of the user's input handed to libssh per write. */
#define CHUNK 65536
/*
 * The size of our intake per stream, and the most channel data libssh may
 * hold for us. libssh 0.10 opens the channel's receive window again (to
 * 1,280,000 bytes, its WINDOWBASE) after every read and on every data
 * packet for a stream whose own buffer is small, whatever the other stream
 * holds: toward a user slower than the target it buffers without bound (at
 * 256 MiB it drops the buffer and the session dies). So every read takes
 * all that libssh holds for a stream, into that stream's intake (which
 * then feeds the tap and the user as they have room), and libssh is let
 * to process packets (socket reads, polls of an empty stream) only while
 * it holds less than HOLD_MAX for each stream: it then holds at most that
 * plus what one socket read brings (the user's input and keepalives read
 * little). More than an intake is a target beyond any window.
 */
#define INTAKE_MAX (2U * 1024 * 1024)
#define HOLD_MAX (1024U * 1024)

/* Signals are turned into bytes on a pipe that the poll loop watches. The
 * write end is the one global of this module (STYLE.md 6). */
static volatile sig_atomic_t sig_fd = -1;

static void
on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;

    if (sig_fd >= 0 && write(sig_fd, &b, 1) < 0) {
        /* pipe full: the loop is already awake */
    }
    errno = saved;
}

struct relay {
    struct pcl_sshconn *conn;
    ssh_session session;
    ssh_channel channel;
    const struct pcl_relay_params *p;
    struct pcl_relay_result *res;
    struct pcl_buf *to_target;
    struct pcl_buf *to_out;
    struct pcl_buf *to_err;
    struct pcl_buf *intake[2]; /* read from libssh, not yet passed on */
    size_t held[2];            /* what libssh held when last asked */
    bool stdin_open;
    bool eof_sent;
    bool remote_eof[2]; /* [0] stdout, [1] stderr */
    bool done;
    int sig_pipe[2];
    int saved_fl[3];
    struct termios saved_tio;
    bool tio_saved;
    struct sigaction saved_sa[8];
};

/* Every signal whose default action would end the process ends the
 * session instead, so that its end is recorded and audited. */
static const int handled_signals[] = {
    SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
};
#define NSIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
setup(struct relay *r)
{
    const int fds[3] = { r->p->in_fd, r->p->out_fd, r->p->err_fd };
    struct sigaction sa;
    struct termios raw;
    int i;
    int rc;

    r->sig_pipe[0] = r->sig_pipe[1] = -1;
    for (i = 0; i < 3; i++) {
        r->saved_fl[i] = -1;
    }
    rc = pcl_buf_new(r->p->buffer_size, &r->to_target);
    if (rc == PCL_OK) {
        rc = pcl_buf_new(r->p->buffer_size, &r->to_out);
    }
    if (rc == PCL_OK) {
        rc = pcl_buf_new(r->p->buffer_size, &r->to_err);
    }
    for (i = 0; i < 2 && rc == PCL_OK; i++) {
        rc = pcl_buf_new(INTAKE_MAX, &r->intake[i]);
    }
    if (rc != PCL_OK) {
        return rc;
    }
    if (pipe2(r->sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        return PCL_ERR_SYSTEM;
    }
    sig_fd = r->sig_pipe[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (i = 0; i < (int)NSIGNALS; i++) {
        sigaction(handled_signals[i], &sa, &r->saved_sa[i]);
    }
    /* The bastion's terminal passes every byte: the target's terminal does
     * the line editing, echo and signals, as with a direct ssh. */
    if (r->p->pty && tcgetattr(r->p->in_fd, &r->saved_tio) == 0) {
        r->tio_saved = true;
        raw = r->saved_tio;
        cfmakeraw(&raw);
        (void)tcsetattr(r->p->in_fd, TCSADRAIN, &raw);
    }
    for (i = 0; i < 3; i++) {
        if (i > 0 && fds[i] == fds[0]) {
            continue;
        }
        r->saved_fl[i] = fcntl(fds[i], F_GETFL);
        if (r->saved_fl[i] >= 0) {
            (void)fcntl(fds[i], F_SETFL, r->saved_fl[i] | O_NONBLOCK);
        }
    }
    ssh_set_blocking(r->session, 0);
    return PCL_OK;
}

static void
teardown(struct relay *r)
{
    const int fds[3] = { r->p->in_fd, r->p->out_fd, r->p->err_fd };
    int i;

    for (i = 0; i < 3; i++) {
        if (r->saved_fl[i] >= 0) {
            (void)fcntl(fds[i], F_SETFL, r->saved_fl[i]);
        }
    }
    if (r->tio_saved) {
        (void)tcsetattr(r->p->in_fd, TCSADRAIN, &r->saved_tio);
    }
    if (sig_fd >= 0) {
        for (i = 0; i < (int)NSIGNALS; i++) {
            sigaction(handled_signals[i], &r->saved_sa[i], NULL);
        }
    }
    sig_fd = -1;
    if (r->sig_pipe[0] >= 0) {
        close(r->sig_pipe[0]);
        close(r->sig_pipe[1]);
    }
    pcl_buf_free(r->to_target);
    pcl_buf_free(r->to_out);
    pcl_buf_free(r->to_err);
    pcl_buf_free(r->intake[0]);
    pcl_buf_free(r->intake[1]);
}

/*
 * Milliseconds since the kernel last received data from the target on
 * fd (TCP_INFO; libssh may have read it already: keepalive replies are
 * read inside ssh_send_keepalive), or 0 when it cannot tell.
 */
static uint64_t
target_silent_ms(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
        return 0;
    }
    return ti.tcpi_last_data_recv;
}

static void
end(struct relay *r, enum pcl_relay_end why)
{
    if (!r->done) {
        r->done = true;
        r->res->end = why;
    }
}

/* True when the tap decides what the user sees (mask-live). */
static bool
live(const struct relay *r)
{
    return r->p->tap != NULL && r->p->tap->accept != NULL;
}

/* Bytes of one output stream we may read now: the buffer's room after
 * what it holds (moving nothing, see pcl_buf_tail_room), or what a live
 * tap can take without overflowing that. */
static size_t
out_room(struct relay *r, int is_stderr)
{
    struct pcl_buf *b = is_stderr ? r->to_err : r->to_out;
    size_t room = pcl_buf_tail_room(b);

    if (live(r)) {
        room = r->p->tap->accept(r->p->tap->ctx,
                                 is_stderr ? PCL_RELAY_STDERR
                                           : PCL_RELAY_STDOUT,
                                 room);
    }
    return room;
}

/* pcl_relay_deliver for a live tap: the user's buffer of one stream. */
static int
deliver(void *vr, enum pcl_relay_stream s, const uint8_t *buf, size_t len)
{
    struct relay *r = vr;
    struct pcl_buf *b = s == PCL_RELAY_STDERR ? r->to_err : r->to_out;

    if (pcl_buf_put(b, buf, len) != PCL_OK) {
        error("live output overflows the relay buffer (%zu bytes)", len);
        return -1;
    }
    return 0;
}

/* The target ended one stream; a live tap releases what it holds. */
static void
remote_ended(struct relay *r, int is_stderr)
{
    const struct pcl_relay_tap *t = r->p->tap;

    r->remote_eof[is_stderr] = true;
    if (live(r) && t->eof != NULL &&
        t->eof(t->ctx, is_stderr ? PCL_RELAY_STDERR : PCL_RELAY_STDOUT) <
            0) {
        end(r, PCL_RELAY_END_TAP);
    }
}

static int
tap_data(struct relay *r, enum pcl_relay_stream s, const uint8_t *b,
         size_t n)
{
    const struct pcl_relay_tap *t = r->p->tap;

    if (t == NULL || t->data == NULL) {
        return 0;
    }
    return t->data(t->ctx, s, b, n);
}

/* True while libssh may process packets: it holds less than HOLD_MAX for
 * each stream (see INTAKE_MAX). */
static bool
may_process(const struct relay *r)
{
    return r->held[0] < HOLD_MAX && r->held[1] < HOLD_MAX;
}

/* A target whose unread data passed INTAKE_MAX (n bytes on one stream)
 * ignores its window: the session ends. */
static void
overrun(struct relay *r, int is_stderr, int n)
{
    error("the target sent more than its channel window allows "
          "(%d bytes unread on %s): ending the session",
          n, is_stderr ? "stderr" : "stdout");
    end(r, PCL_RELAY_END_ERROR);
}

/*
 * The bytes libssh holds for one stream (ssh_channel_poll), or -1 when
 * there are none to read now: the stream ended (then marked), the target
 * connection was lost, or the target sent more than its window allows
 * (then the session ends).
 */
static int
libssh_holds(struct relay *r, int is_stderr)
{
    int avail;

    if (r->held[is_stderr] == 0 && !may_process(r)) {
        return -1; /* asking could make libssh read more */
    }
    avail = ssh_channel_poll(r->channel, is_stderr);
    r->held[is_stderr] = avail > 0 ? (size_t)avail : 0;

    if (avail == SSH_EOF) {
        remote_ended(r, is_stderr);
        return -1;
    }
    if (avail < 0) {
        error("target connection lost: %s", ssh_get_error(r->session));
        end(r, PCL_RELAY_END_ERROR);
        return -1;
    }
    if (avail == 0) {
        if (ssh_channel_is_closed(r->channel)) {
            remote_ended(r, is_stderr);
        }
        return -1;
    }
    if ((size_t)avail > INTAKE_MAX) {
        overrun(r, is_stderr, avail);
        return -1;
    }
    return avail;
}

/* Reads all n bytes libssh holds for one stream into dst (n bytes free),
 * so that it then holds none; returns false when that fails (the session
 * then ends). */
static bool
read_all(struct relay *r, int is_stderr, uint8_t *dst, int n)
{
    int got = ssh_channel_read_nonblocking(r->channel, dst, (uint32_t)n,
                                           is_stderr);

    if (got != n) {
        error("target connection lost: %s", got < 0 ? ssh_get_error(r->session)
                                                    : "short read");
        end(r, PCL_RELAY_END_ERROR);
        return false;
    }
    r->held[is_stderr] = 0;
    return true;
}

/* Passes n bytes of one stream at b to the tap (recorded first: what the
 * recording refuses never reaches the user) and counts them; false when
 * the tap refused them. */
static bool
pass_on(struct relay *r, int is_stderr, const uint8_t *b, size_t n)
{
    enum pcl_relay_stream s = is_stderr ? PCL_RELAY_STDERR : PCL_RELAY_STDOUT;

    if (tap_data(r, s, b, n) < 0) {
        end(r, PCL_RELAY_END_TAP);
        return false;
    }
    if (is_stderr) {
        r->res->bytes_err += (uint64_t)n;
    } else {
        r->res->bytes_out += (uint64_t)n;
    }
    return true;
}

/*
 * Moves one stream's output toward the user as far as there is room
 * (back-pressure on the target's window): first what the intake holds,
 * then all that libssh holds (see INTAKE_MAX). Without a live tap, when
 * the intake is empty and the user's buffer has room for all of it, the
 * bytes go straight there; with a live tap, the tap passes on what the
 * user is to see.
 */
static void
pull(struct relay *r, int is_stderr)
{
    struct pcl_buf *b = is_stderr ? r->to_err : r->to_out;
    struct pcl_buf *q = r->intake[is_stderr];
    size_t room;
    size_t n;
    int avail;

    while (!r->done) {
        if (pcl_buf_len(q) > 0) {
            room = out_room(r, is_stderr);
            if (room == 0) {
                return;
            }
            n = pcl_buf_len(q) < room ? pcl_buf_len(q) : room;
            if (!pass_on(r, is_stderr, pcl_buf_ptr(q), n)) {
                return;
            }
            if (!live(r)) {
                int rc = pcl_buf_put(b, pcl_buf_ptr(q), n);
                assert(rc == PCL_OK); /* n is at most the tail room */
                (void)rc;
            }
            pcl_buf_consume(q, n);
            continue;
        }
        if (r->remote_eof[is_stderr]) {
            return;
        }
        avail = libssh_holds(r, is_stderr);
        if (avail < 0) {
            return;
        }
        if (!live(r) && pcl_buf_tail_room(b) >= (size_t)avail) {
            uint8_t *dst = pcl_buf_tail(b);
            if (!read_all(r, is_stderr, dst, avail) ||
                !pass_on(r, is_stderr, dst, (size_t)avail)) {
                return;
            }
            pcl_buf_commit(b, (size_t)avail);
            continue;
        }
        /* The intake is empty and avail at most its size (libssh_holds). */
        assert(pcl_buf_tail_room(q) >= (size_t)avail);
        if (!read_all(r, is_stderr, pcl_buf_tail(q), avail)) {
            return;
        }
        pcl_buf_commit(q, (size_t)avail);
    }
}

/* Writes buffered output to the user; a vanished reader ends the session. */
static void
push_user(struct relay *r, struct pcl_buf *b, int fd)
{
    ssize_t n;

    while (pcl_buf_len(b) > 0) {
        n = pcl_buf_write_fd(b, fd);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                debug("user side closed: %s", strerror(errno));
                end(r, PCL_RELAY_END_CLIENT);
            }
            return;
        }
    }
}

/* Sends the user's input to the target while libssh has nothing queued,
 * so libssh's own output queue stays bounded too. */
static void
push_target(struct relay *r)
{
    int n;

    while (!r->done && pcl_buf_len(r->to_target) > 0 &&
           (ssh_get_poll_flags(r->session) & SSH_WRITE_PENDING) == 0) {
        size_t len = pcl_buf_len(r->to_target);
        n = ssh_channel_write(r->channel, pcl_buf_ptr(r->to_target),
                              len < CHUNK ? (uint32_t)len : CHUNK);
        if (n < 0) {
            error("target connection lost: %s", ssh_get_error(r->session));
            end(r, PCL_RELAY_END_ERROR);
            return;
        }
        if (n == 0) {
            return; /* the target's window is closed: wait */
        }
        pcl_buf_consume(r->to_target, (size_t)n);
    }
    if (!r->done && !r->stdin_open && !r->eof_sent &&
        pcl_buf_len(r->to_target) == 0 && ssh_channel_is_open(r->channel)) {
        (void)ssh_channel_send_eof(r->channel);
        r->eof_sent = true;
    }
}

static void
read_user(struct relay *r)
{
    struct pcl_buf *b = r->to_target;
    size_t before = pcl_buf_len(b);
    ssize_t n;

    n = pcl_buf_read_fd(b, r->p->in_fd);
    if (n > 0) {
        if (tap_data(r, PCL_RELAY_STDIN, pcl_buf_ptr(b) + before,
                     (size_t)n) < 0) {
            end(r, PCL_RELAY_END_TAP);
            return;
        }
        r->res->bytes_in += (uint64_t)n;
    } else if (n == 0) {
        r->stdin_open = false;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        /* EIO: the bastion's terminal was hung up by sshd. */
        debug("user input closed: %s", strerror(errno));
        if (r->p->pty) {
            end(r, PCL_RELAY_END_CLIENT);
        } else {
            r->stdin_open = false;
        }
    }
}

static void
window_change(struct relay *r)
{
    struct winsize ws;
    const struct pcl_relay_tap *t = r->p->tap;

    if (!r->p->pty || ioctl(r->p->in_fd, TIOCGWINSZ, &ws) != 0) {
        return;
    }
    if (t != NULL && t->resize != NULL &&
        t->resize(t->ctx, ws.ws_col, ws.ws_row) < 0) {
        end(r, PCL_RELAY_END_TAP);
        return;
    }
    (void)ssh_channel_change_pty_size(r->channel, ws.ws_col, ws.ws_row);
}

static void
read_signals(struct relay *r)
{
    unsigned char sigs[32];
    ssize_t n;
    ssize_t i;

    n = read(r->sig_pipe[0], sigs, sizeof(sigs));
    for (i = 0; i < n; i++) {
        if (sigs[i] == SIGWINCH) {
            window_change(r);
        } else {
            r->res->signo = sigs[i];
            end(r, PCL_RELAY_END_SIGNAL);
        }
    }
}

/* True when there is work poll(2) would not wake us for: libssh holds
 * channel data (or an EOF) we have room for, read from a socket that may be
 * drained already; or a window adjust it processed while we read lets the
 * user's pending input go out now. */
static bool
libssh_pending(struct relay *r)
{
    int i;
    int rc;

    if (pcl_buf_len(r->to_target) > 0 &&
        ssh_channel_window_size(r->channel) > 0 &&
        (ssh_get_poll_flags(r->session) & SSH_WRITE_PENDING) == 0 &&
        ssh_channel_is_open(r->channel)) {
        return true;
    }

    for (i = 0; i < 2; i++) {
        if (pcl_buf_len(r->intake[i]) > 0 && out_room(r, i) > 0) {
            return true;
        }
    }
    for (i = 0; i < 2; i++) {
        /* Counting what libssh holds never makes it read, asking about
         * an empty stream may (HOLD_MAX). */
        if (r->held[i] == 0 && !r->remote_eof[i] && !may_process(r)) {
            continue;
        }
        rc = ssh_channel_poll(r->channel, i);
        r->held[i] = rc > 0 ? (size_t)rc : 0;
        if (r->remote_eof[i]) {
            /* Data after the channel's EOF (RFC 4254 section 5.3), which
             * libssh accepts: a broken or hostile target. */
            if (rc > 0) {
                error("the target sent %d bytes on %s after its EOF: "
                      "ending the session", rc, i ? "stderr" : "stdout");
                end(r, PCL_RELAY_END_ERROR);
                return true;
            }
            continue;
        }
        if (pcl_buf_len(r->intake[i]) == 0 && (rc > 0 || rc == SSH_EOF)) {
            return true;
        }
        if (rc > 0 && (size_t)rc > INTAKE_MAX) {
            overrun(r, i, rc);
            return true;
        }
    }
    return false;
}

/* The target is finished with us once it closed or sent EOF on both
 * streams and its exit status, and everything reached the user. */
static bool
finished(struct relay *r)
{
    int status;
    char sig[8];
    bool closed = ssh_channel_is_closed(r->channel) != 0;

    if (!r->remote_eof[0] || !r->remote_eof[1]) {
        return false;
    }
    if (pcl_buf_len(r->to_out) > 0 || pcl_buf_len(r->to_err) > 0) {
        return false;
    }
    return closed || pcl_sshconn_exit(r->conn, &status, sig, sizeof(sig));
}

int
pcl_relay_run(struct pcl_sshconn *c, const struct pcl_relay_params *p,
              struct pcl_relay_result *res)
{
    struct relay *r = NULL;
    struct pollfd pfd[5];
    uint64_t last_keepalive;
    int rc;

    memset(res, 0, sizeof(*res));
    res->exit_status = -1;
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        res->end = PCL_RELAY_END_ERROR;
        return PCL_ERR_NOMEM;
    }
    r->conn = c;
    r->session = pcl_sshconn_session(c);
    r->channel = pcl_sshconn_channel(c);
    r->p = p;
    r->res = res;
    r->stdin_open = true;
    rc = setup(r);
    if (rc != PCL_OK) {
        res->end = PCL_RELAY_END_ERROR;
        goto out;
    }
    if (live(r) && p->tap->bind != NULL) {
        p->tap->bind(p->tap->ctx, deliver, r);
    }
    if (p->pty) {
        /* The client may have resized between pty-req and now. */
        window_change(r);
    }
    last_keepalive = now_ms();

    while (!r->done) {
        int timeout = -1;
        int sshfd = ssh_get_fd(r->session);
        int nfds;
        int i_in = -1;
        int i_out;
        int i_err = -1;
        int i_ssh;
        short ev;

        /* Writing to the channel can make libssh read packets, data
         * included, into its buffers: pull after pushing. */
        push_target(r);
        pull(r, 0);
        pull(r, 1);
        push_user(r, r->to_out, p->out_fd);
        push_user(r, r->to_err, p->err_fd);
        if (!r->done && r->remote_eof[0] && r->remote_eof[1]) {
            /* Reads no longer pump libssh once both streams are at EOF;
             * this does, without blocking, until exit-status or close. */
            (void)ssh_channel_get_exit_status(r->channel);
        }
        if (r->done || finished(r)) {
            end(r, PCL_RELAY_END_REMOTE);
            break;
        }

        nfds = 0;
        pfd[nfds].fd = r->sig_pipe[0];
        pfd[nfds++].events = POLLIN;
        if (r->stdin_open && pcl_buf_room(r->to_target) > 0) {
            i_in = nfds;
            pfd[nfds].fd = p->in_fd;
            pfd[nfds++].events = POLLIN;
        }
        /* Polled even with nothing to write: POLLERR/POLLHUP tell that
         * the user went away while the target is silent. */
        i_out = nfds;
        pfd[nfds].fd = p->out_fd;
        pfd[nfds++].events = pcl_buf_len(r->to_out) > 0 ? POLLOUT : 0;
        if (p->err_fd != p->out_fd) {
            i_err = nfds;
            pfd[nfds].fd = p->err_fd;
            pfd[nfds++].events = pcl_buf_len(r->to_err) > 0 ? POLLOUT : 0;
        } else if (pcl_buf_len(r->to_err) > 0) {
            pfd[i_out].events = POLLOUT;
        }
        ev = 0;
        /* Socket reads only while libssh holds little (INTAKE_MAX). */
        if (may_process(r)) {
            ev |= POLLIN;
        }
        if (ssh_get_poll_flags(r->session) & SSH_WRITE_PENDING) {
            ev |= POLLOUT;
        }
        i_ssh = nfds;
        /* Not watched at all when there is nothing to do on it: a hang-up
         * (POLLHUP cannot be masked) would wake the loop for nothing
         * while output waits for the user; it is seen once we read. */
        pfd[nfds].fd = ev != 0 ? sshfd : -1;
        pfd[nfds++].events = ev;

        if (libssh_pending(r)) {
            timeout = 0;
        } else if (p->keepalive_interval > 0) {
            uint64_t due = last_keepalive + p->keepalive_interval * 1000ULL;
            uint64_t now = now_ms();
            timeout = due > now ? (int)(due - now) : 0;
        }
        if (p->tap != NULL && p->tap->due != NULL) {
            int td = p->tap->due(p->tap->ctx, now_ms());
            if (td >= 0 && (timeout < 0 || td < timeout)) {
                timeout = td;
            }
        }
        if (poll(pfd, (nfds_t)nfds, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            error("poll: %s", strerror(errno));
            end(r, PCL_RELAY_END_ERROR);
            break;
        }
        if (pfd[0].revents & POLLIN) {
            read_signals(r);
        }
        if (i_in >= 0 && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
            read_user(r);
        }
        if ((pfd[i_out].revents & (POLLERR | POLLHUP | POLLNVAL)) ||
            (i_err >= 0 &&
             (pfd[i_err].revents & (POLLERR | POLLHUP | POLLNVAL)))) {
            /* With a PTY, POLLHUP on the terminal is the user leaving. */
            debug("user side hung up");
            end(r, PCL_RELAY_END_CLIENT);
        }
        if (pfd[i_ssh].revents & POLLOUT) {
            (void)ssh_blocking_flush(r->session, 0);
        }
        if (pfd[i_ssh].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            /* Let libssh read what is left and notice the loss itself. */
            pull(r, 0);
            pull(r, 1);
            if (!r->remote_eof[0] && !ssh_is_connected(r->session)) {
                end(r, PCL_RELAY_END_ERROR);
            }
        }
        if (!r->done && p->tap != NULL && p->tap->tick != NULL &&
            p->tap->tick(p->tap->ctx, now_ms()) < 0) {
            end(r, PCL_RELAY_END_TAP);
        }
        /* Nothing more is asked of a session that has ended or that
         * libssh already found lost. */
        if (!r->done && p->keepalive_interval > 0 &&
            ssh_is_connected(r->session) &&
            now_ms() >= last_keepalive + p->keepalive_interval * 1000ULL) {
            uint64_t silent = target_silent_ms(ssh_get_fd(r->session));

            /* A stalled target (a paused or wedged sshd, a network that
             * drops everything) still has its kernel acknowledge our
             * bytes, so TCP never gives up; its sshd answers every
             * keepalive@openssh.com within an interval, so count_max + 1
             * intervals of silence mean count_max keepalives unanswered
             * (OpenSSH's ServerAliveCountMax); a live target is never
             * silent much longer than one interval. */
            if (p->keepalive_count_max > 0 &&
                silent >= (uint64_t)p->keepalive_interval *
                              (p->keepalive_count_max + 1ULL) * 1000ULL) {
                error("target not responding: nothing received for %llu ms "
                      "(%u keepalives unanswered)",
                      (unsigned long long)silent, p->keepalive_count_max);
                end(r, PCL_RELAY_END_ERROR);
            } else {
                /* libssh sends no new request while the reply to the
                 * last one is unread: then the first call only reads it
                 * (non-blocking) and the second sends. */
                (void)ssh_send_keepalive(r->session);
                (void)ssh_send_keepalive(r->session);
                debug3("keepalive sent; target silent for %llu ms",
                       (unsigned long long)silent);
            }
            last_keepalive = now_ms();
        }
    }

    /* Whatever is still buffered toward the user is delivered when the
     * target ended the session; nobody is listening otherwise. */
    if (res->end == PCL_RELAY_END_REMOTE) {
        int fds[2] = { p->out_fd, p->err_fd };
        int i;
        for (i = 0; i < 2; i++) {
            int fl = fcntl(fds[i], F_GETFL);
            if (fl >= 0) {
                (void)fcntl(fds[i], F_SETFL, fl & ~O_NONBLOCK);
            }
        }
        r->done = false;
        push_user(r, r->to_out, p->out_fd);
        push_user(r, r->to_err, p->err_fd);
        r->done = true;
    }
    (void)pcl_sshconn_exit(c, &res->exit_status, res->exit_signal,
                           sizeof(res->exit_signal));
    rc = res->end == PCL_RELAY_END_ERROR ? PCL_ERR_CONNECT
         : res->end == PCL_RELAY_END_TAP ? PCL_ERR_IO : PCL_OK;
out:
    if (live(r) && p->tap->bind != NULL) {
        p->tap->bind(p->tap->ctx, NULL, NULL);
    }
    teardown(r);
    free(r);
    return rc;
}
