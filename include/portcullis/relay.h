/* SPDX-License-Identifier: BSD-2-Clause */
/* The relay: one poll loop that owns every fd of a session and is the only
 * place where session bytes pass between the user and the target. */
#ifndef PCL_RELAY_H
#define PCL_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/sshconn.h"

/* Streams, as RFC 4254 numbers them for channel data. */
enum pcl_relay_stream {
    PCL_RELAY_STDIN = 0,
    PCL_RELAY_STDOUT = 1,
    PCL_RELAY_STDERR = 2,
};

/*
 * What a live tap calls with the bytes the user is to see on stream
 * (PCL_RELAY_STDOUT or PCL_RELAY_STDERR); relay is what bind was given.
 * Returns 0, or -1 when they do not fit the stream's buffer (the tap fed
 * more than accept allowed; the session then ends).
 */
typedef int (*pcl_relay_deliver)(void *relay, enum pcl_relay_stream stream,
                                 const uint8_t *buf, size_t len);

/*
 * A tap sees every byte that crosses the relay, before it is passed on, and
 * every window change. A negative return ends the session (a recorder that
 * cannot write must stop the data, not let it through unrecorded).
 */
struct pcl_relay_tap {
    int (*data)(void *ctx, enum pcl_relay_stream stream, const uint8_t *buf,
                size_t len);
    int (*resize)(void *ctx, int cols, int rows);
    /* Milliseconds (CLOCK_MONOTONIC now_ms) until tick must run, or -1;
     * tick does the tap's timed work (flush, release held bytes). */
    int (*due)(void *ctx, uint64_t now_ms);
    int (*tick)(void *ctx, uint64_t now_ms);
    void *ctx;
    /*
     * A live tap (mask-live) decides what the user sees of the target's
     * output: when accept is not NULL the relay no longer passes stdout
     * and stderr to the user itself; the tap passes what the user is to
     * see to the deliver function that bind gives it (before the loop
     * starts; bind(ctx, NULL, NULL) after it ended), from data, tick or
     * eof. accept returns how many more bytes of stream the tap can take
     * now when room bytes are free in the stream's buffer toward the user
     * (bytes it holds back count against room), so the buffers stay
     * bounded whatever the tap makes of the bytes. eof is called once per
     * stream when the target ends it: the tap delivers what it holds.
     */
    size_t (*accept)(void *ctx, enum pcl_relay_stream stream, size_t room);
    void (*bind)(void *ctx, pcl_relay_deliver deliver, void *relay);
    int (*eof)(void *ctx, enum pcl_relay_stream stream);
};

/* How the loop is wired. fds are borrowed; the loop makes them non-blocking
 * and restores their flags before returning. */
struct pcl_relay_params {
    int in_fd;           /* the user's stdin */
    int out_fd;          /* the user's stdout */
    int err_fd;          /* the user's stderr */
    bool pty;            /* in_fd is a terminal: forward window changes */
    size_t buffer_size;  /* bytes per direction before back-pressure */
    unsigned keepalive_interval; /* seconds; 0 = none */
    unsigned keepalive_count_max; /* keepalives unanswered (nothing at all
                                   * from the target for this many
                                   * intervals) that end the session as
                                   * lost; 0 = never */
    const struct pcl_relay_tap *tap; /* may be NULL */
};

enum pcl_relay_end {
    PCL_RELAY_END_REMOTE,  /* the target closed the channel */
    PCL_RELAY_END_CLIENT,  /* the user went away */
    PCL_RELAY_END_SIGNAL,  /* SIGTERM/SIGHUP/SIGINT to the proxy */
    PCL_RELAY_END_ERROR,   /* target connection lost */
    PCL_RELAY_END_TAP,     /* the tap refused data (recording failed) */
};

/* What happened, for the audit record and the exit code. */
struct pcl_relay_result {
    enum pcl_relay_end end;
    uint64_t bytes_in;   /* user to target, bytes */
    uint64_t bytes_out;  /* target stdout to user, bytes */
    uint64_t bytes_err;  /* target stderr to user, bytes */
    int exit_status;     /* -1 when none was received */
    char exit_signal[32]; /* signal name without "SIG", or "" */
    int signo;           /* the signal that ended the loop (END_SIGNAL) */
};

/*
 * Relays between the user's fds and the channel of c until the channel
 * closes and all its output is delivered, the user goes away, or a
 * terminating signal arrives. Window changes go out as window-change
 * requests; stdin EOF becomes channel EOF once everything before it was
 * sent. Returns 0 or PCL_ERR_IO / PCL_ERR_CONNECT / PCL_ERR_NOMEM; *res is
 * filled either way.
 */
int pcl_relay_run(struct pcl_sshconn *c, const struct pcl_relay_params *p,
                  struct pcl_relay_result *res);

#endif /* PCL_RELAY_H */
