/* SPDX-License-Identifier: BSD-2-Clause */
#include "config.h"

#include "portcullis/ptyrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "portcullis/buf.h"
#include "portcullis/err.h"

#define BUFSZ 65536

/* SIGWINCH and SIGCHLD become bytes on this pipe (the one global here). */
static volatile sig_atomic_t wake_fd = -1;

static void
on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;

    if (wake_fd >= 0 && write(wake_fd, &b, 1) < 0) {
        /* pipe full: the loop is awake already */
    }
    errno = saved;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
copy_winsize(int from, int to, const struct pcl_relay_tap *tap, bool *bad)
{
    struct winsize ws;

    if (ioctl(from, TIOCGWINSZ, &ws) != 0) {
        return;
    }
    (void)ioctl(to, TIOCSWINSZ, &ws);
    if (tap != NULL && tap->resize != NULL &&
        tap->resize(tap->ctx, ws.ws_col, ws.ws_row) < 0) {
        *bad = true;
    }
}

int
pcl_ptyrelay_run(int master, pid_t child, int in_fd, int out_fd,
                 const struct pcl_relay_tap *tap,
                 struct pcl_ptyrelay_result *res)
{
    uint8_t buf[BUFSZ];
    int pipefd[2] = { -1, -1 };
    struct sigaction sa;
    struct sigaction old_winch;
    struct sigaction old_chld;
    struct sigaction old_term[3];
    static const int fwd[3] = { SIGTERM, SIGHUP, SIGINT };
    struct termios saved;
    struct termios raw;
    bool tty = isatty(in_fd) != 0;
    bool have_tio = false;
    bool in_open = true;
    bool master_open = true;
    bool exited = false;
    bool bad = false;
    int status = 0;
    int rc = PCL_OK;

    memset(res, 0, sizeof(*res));
    res->exit_status = -1;
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
        return PCL_ERR_IO;
    }
    wake_fd = pipefd[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, &old_winch);
    sigaction(SIGCHLD, &sa, &old_chld);
    /* Signals meant to end the recorder end the command instead, so that
     * its last output is recorded and the file is sealed. */
    for (int k = 0; k < 3; k++) {
        sigaction(fwd[k], &sa, &old_term[k]);
    }
    if (tty && tcgetattr(in_fd, &saved) == 0) {
        have_tio = true;
        raw = saved;
        cfmakeraw(&raw);
        (void)tcsetattr(in_fd, TCSADRAIN, &raw);
        copy_winsize(in_fd, master, tap, &bad);
    }

    while (!bad && (master_open || !exited)) {
        struct pollfd pfd[3];
        int n = 0;
        int i_in = -1;
        int i_m = -1;
        int timeout = -1;

        pfd[n].fd = pipefd[0];
        pfd[n++].events = POLLIN;
        if (in_open) {
            i_in = n;
            pfd[n].fd = in_fd;
            pfd[n++].events = POLLIN;
        }
        if (master_open) {
            i_m = n;
            pfd[n].fd = master;
            pfd[n++].events = POLLIN;
        }
        if (tap != NULL && tap->due != NULL) {
            timeout = tap->due(tap->ctx, now_ms());
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            rc = PCL_ERR_IO;
            break;
        }
        if (pfd[0].revents & POLLIN) {
            unsigned char sigs[16];
            ssize_t k = read(pipefd[0], sigs, sizeof(sigs));
            for (ssize_t j = 0; j < k; j++) {
                if (sigs[j] == SIGWINCH && tty) {
                    copy_winsize(in_fd, master, tap, &bad);
                } else if (sigs[j] == SIGTERM || sigs[j] == SIGHUP ||
                           sigs[j] == SIGINT) {
                    kill(child, sigs[j]);
                }
            }
        }
        if (!exited && waitpid(child, &status, WNOHANG) == child) {
            exited = true;
        }
        if (i_in >= 0 && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = read(in_fd, buf, sizeof(buf));
            if (k > 0) {
                if (tap != NULL && tap->data != NULL &&
                    tap->data(tap->ctx, PCL_RELAY_STDIN, buf, (size_t)k) < 0) {
                    bad = true;
                    break;
                }
                res->bytes_in += (uint64_t)k;
                for (ssize_t off = 0; off < k;) {
                    ssize_t w = write(master, buf + off, (size_t)(k - off));
                    if (w < 0 && errno == EINTR) {
                        continue;
                    }
                    if (w <= 0) {
                        break;
                    }
                    off += w;
                }
            } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                in_open = false;
                if (!tty) {
                    /* End of piped input: end of file for the command. */
                    unsigned char eof = 4; /* VEOF at line start */
                    ssize_t w = write(master, &eof, 1);
                    (void)w; /* a gone command needs no EOF */
                }
            }
        }
        if (i_m >= 0 && (pfd[i_m].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = read(master, buf, sizeof(buf));
            if (k > 0) {
                if (tap != NULL && tap->data != NULL &&
                    tap->data(tap->ctx, PCL_RELAY_STDOUT, buf, (size_t)k) <
                        0) {
                    bad = true;
                    break;
                }
                res->bytes_out += (uint64_t)k;
                for (ssize_t off = 0; off < k;) {
                    ssize_t w = write(out_fd, buf + off, (size_t)(k - off));
                    if (w < 0 && errno == EINTR) {
                        continue;
                    }
                    if (w <= 0) {
                        break;
                    }
                    off += w;
                }
            } else if (k == 0 || errno == EIO) {
                /* EIO: every slave fd is closed (the command is gone). */
                master_open = false;
            }
        }
        if (tap != NULL && tap->tick != NULL &&
            tap->tick(tap->ctx, now_ms()) < 0) {
            bad = true;
        }
        if (!master_open && !exited) {
            if (waitpid(child, &status, 0) == child) {
                exited = true;
            }
        }
    }
    if (bad) {
        res->tap_failed = true;
        kill(child, SIGHUP);
        if (!exited && waitpid(child, &status, 0) == child) {
            exited = true;
        }
        rc = PCL_ERR_IO;
    }
    if (exited) {
        if (WIFEXITED(status)) {
            res->exit_status = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            res->signo = WTERMSIG(status);
        }
    }
    if (have_tio) {
        (void)tcsetattr(in_fd, TCSADRAIN, &saved);
    }
    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    for (int k = 0; k < 3; k++) {
        sigaction(fwd[k], &old_term[k], NULL);
    }
    wake_fd = -1;
    close(pipefd[0]);
    close(pipefd[1]);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}
